import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildId,
  parseVersionLine,
  runtimeFiles,
  SHORT_BUILD,
  treeBuild,
  versionLine,
} from "../lib/build.ts";
import { VERSION } from "../lib/version.ts";
import { ROOT } from "./helpers/sandbox.ts";

/** A copy of this tree's runtime files (and one test file) in a temp directory. */
async function copyOfTree(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tc-cron-tree-" });
  for (const file of [...runtimeFiles(ROOT), "deno.json", "deno.lock", "tests/build_test.ts"]) {
    await Deno.mkdir(join(dir, file, ".."), { recursive: true });
    await Deno.copyFile(join(ROOT, file), join(dir, file));
  }
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("a build changes with every runtime file and with nothing else", async (t) => {
  await using copy = await copyOfTree();
  const tree = copy.dir;
  const first = await buildId(tree);
  assert.match(first, /^[0-9a-f]{64}$/);
  assert.equal(await buildId(ROOT), first, "the copy is the same build as the tree");
  for (
    const file of [
      "lib/schedule.ts",
      "main.ts",
      "deno.runtime.lock",
      "scripts/permission-flags.sh",
      "scripts/launcher.sh",
    ]
  ) {
    await t.step(`${file} changed: another build`, async () => {
      const path = join(tree, file);
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text + "\n");
      assert.notEqual(await buildId(tree), first);
      await Deno.writeTextFile(path, text);
      assert.equal(await buildId(tree), first);
    });
  }
  await t.step("a new module in lib/: another build", async () => {
    await Deno.writeTextFile(join(tree, "lib/new.ts"), "");
    assert.notEqual(await buildId(tree), first);
    await Deno.remove(join(tree, "lib/new.ts"));
  });
  await t.step(
    "what only the tests use (deno.lock, tests/, an editor's swap file): the same",
    async () => {
      await Deno.writeTextFile(join(tree, "deno.lock"), "{}");
      await Deno.writeTextFile(join(tree, "tests/build_test.ts"), "");
      await Deno.writeTextFile(join(tree, "lib/.schedule.ts.swp"), "x");
      assert.equal(await buildId(tree), first);
    },
  );
});

Deno.test("--version of an installed copy says its form, its build and whether its tree still is it", async (t) => {
  await using copy = await copyOfTree();
  const tree = copy.dir;
  const build = await buildId(tree);
  const short = build.slice(0, SHORT_BUILD);
  const stamp = { form: "source" as const, build, source: tree };
  await t.step("the tree is that build", async () => {
    const line = await versionLine(stamp);
    assert.equal(line, `teleclaude-cron ${VERSION} (source form, build ${short}; matches ${tree})`);
    assert.deepEqual(parseVersionLine(line), { version: VERSION, form: "source", build: short });
  });
  await t.step("the tree has changed since", async () => {
    await Deno.writeTextFile(join(tree, "lib/new.ts"), "");
    const now = (await buildId(tree)).slice(0, SHORT_BUILD);
    const line = await versionLine({ ...stamp, form: "compiled" });
    assert.equal(
      line,
      `teleclaude-cron ${VERSION} (compiled, build ${short}; ${tree} has changed since (now build ${now}))`,
    );
    assert.deepEqual(parseVersionLine(line), { version: VERSION, form: "compiled", build: short });
  });
  await t.step("the tree is gone", async () => {
    const line = await versionLine({ ...stamp, source: join(tree, "nowhere") });
    assert.match(line, /; \S+\/nowhere is gone\)$/);
  });
  await t.step("a source tree says its version only", async () => {
    assert.equal(await versionLine(null), `teleclaude-cron ${VERSION}`);
    assert.deepEqual(parseVersionLine(`teleclaude-cron ${VERSION}`), {
      version: VERSION,
      form: "tree",
      build: null,
    });
    assert.equal(parseVersionLine("something else 1.0"), null);
  });
});

Deno.test("a tree that lacks one file of a build is said so, not called gone", async () => {
  await using copy = await copyOfTree();
  await Deno.remove(join(copy.dir, "deno.runtime.lock"));
  const tree = await treeBuild(copy.dir);
  assert.ok("problem" in tree);
  assert.match(tree.problem, /lacks a file a build is made of: .*deno\.runtime\.lock/);
  assert.deepEqual(await treeBuild(join(copy.dir, "nowhere")), {
    problem: `${join(copy.dir, "nowhere")} is gone`,
  });
});
