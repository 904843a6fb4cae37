/**
 * The compiled binary, as launchd runs it. `deno compile` needs its runtime base (denort): it is
 * downloaded on first use, which works on a user's machine but not where only the package
 * registries are reachable. So this runs only where DENORT_BIN is set or a cached denort exists,
 * and says plainly when it is skipped.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { makeSandbox, realDenoDir, ROOT } from "./helpers/sandbox.ts";

async function denortAvailable(): Promise<string | null> {
  const fromEnv = Deno.env.get("DENORT_BIN");
  if (fromEnv) return `DENORT_BIN=${fromEnv}`;
  const target = `${Deno.build.arch}-${Deno.build.vendor}-${Deno.build.os}${
    Deno.build.env ? `-${Deno.build.env}` : ""
  }`;
  const cached = join(
    await realDenoDir(),
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${target}.zip`,
  );
  try {
    await Deno.stat(cached);
    return cached;
  } catch {
    return null;
  }
}

const denort = await denortAvailable();
const denortBin = Deno.env.get("DENORT_BIN");
if (!denort) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output.
  console.log(
    "compile_test: SKIPPED the compiled-binary test: no DENORT_BIN and no cached denort " +
      `for deno ${Deno.version.deno}; deno compile cannot fetch its runtime base here`,
  );
}

Deno.test({
  name: "the compiled binary answers --version, lists the example config and runs a job",
  ignore: denort === null,
  async fn() {
    await using sandbox = await makeSandbox();
    const binary = join(sandbox.dir, "teleclaude-cron");
    // The same compile as deno.json's compile task and init.sh (tests/cli_test.ts holds them).
    const compiled = await new Deno.Command("sh", {
      args: [join(ROOT, "scripts/compile.sh"), binary],
      env: { ...sandbox.env, ...(denortBin ? { DENORT_BIN: denortBin } : {}) },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(compiled.code, 0, new TextDecoder().decode(compiled.stderr));
    const run = (args: string[]) =>
      new Deno.Command(binary, {
        args,
        env: sandbox.env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const version = await run(["--version"]);
    assert.match(new TextDecoder().decode(version.stdout), /^teleclaude-cron \d/);
    // --list loads the views and (cache cold) the parser: modules reached only by lazyImport.
    const list = await run(["--list", "--config", join(ROOT, "teleclaude.yml")]);
    assert.equal(list.code, 0, new TextDecoder().decode(list.stderr));
    assert.match(new TextDecoder().decode(list.stdout), /next_prepare_draft\s+agent:claude/);
    // A tick that runs a job loads the job loop, spawn and the outcome readers the same way.
    await Deno.writeTextFile(
      sandbox.config,
      "jobs:\n  j: { script: /bin/echo, when: { every: 1h } }\n",
    );
    const tick = await run(["--config", sandbox.config]);
    assert.equal(tick.code, 0, new TextDecoder().decode(tick.stderr));
    assert.match(new TextDecoder().decode(tick.stdout), /event=job_finished job=j status=success/);
  },
});
