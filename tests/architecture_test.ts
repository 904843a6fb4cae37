/**
 * The shape of the code, as docs/project/design/architecture/jobs-runner.md draws it: no import
 * cycles (type-only imports count too), layers that import only downward, functions that fit on
 * a screen, and one version number.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { VERSION } from "../lib/version.ts";
import { ROOT } from "./helpers/sandbox.ts";

/** The project's own import graph from an entry point, as `deno info --json` reports it. */
async function importGraph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string; dependencies?: Record<string, { specifier: string }>[] }[];
  };
  const graph = new Map<string, string[]>();
  for (const module of info.modules) {
    if (!module.specifier.startsWith("file:")) continue;
    const targets = (module.dependencies ?? []).flatMap((dependency) =>
      (["code", "type"] as const).flatMap((kind) => dependency[kind]?.specifier ?? [])
    ).filter((specifier) => specifier.startsWith("file:"));
    graph.set(name(module.specifier), targets.map(name));
  }
  return graph;
}

const name = (specifier: string) => relative(ROOT, new URL(specifier).pathname);

function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string) => {
    const at = stack.indexOf(node);
    if (at !== -1) return void found.push([...stack.slice(at), node].join(" -> "));
    if (done.has(node)) return;
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return found;
}

const ENTRIES = ["main.ts", "lib/one_shot.ts"];

Deno.test("no module imports itself back, type-only imports included", async () => {
  for (const entry of ENTRIES) assert.deepEqual(cycles(await importGraph(entry)), [], entry);
});

/**
 * The layers, top to bottom; a module may import its own layer's modules and any layer below.
 * `lib/one_shot.ts` is an entry point (the library export) and sits with the commands.
 */
const LAYERS: [string, RegExp][] = [
  ["entry", /^(main\.ts|lib\/one_shot\.ts)$/],
  ["cli", /^lib\/cli\//],
  ["export", /^lib\/export\//],
  ["run", /^lib\/run\//],
  ["notify", /^lib\/notify\//],
  // Spawning, the kill path and what a run came to: the job runner and the notify command both
  // start processes, so this sits below both of them.
  ["process", /^lib\/process\//],
  // The selection rule, and the spend guard's rules it defers by.
  ["select", /^lib\/(select|spend)\.ts$/],
  ["config", /^lib\/config\/(load|parse|notify|timing|budget|locator|yaml)\.ts$/],
  ["store", /^lib\/store\//],
  ["core", /^lib\//],
];

function layerOf(module: string): number {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(module));
  assert.notEqual(index, -1, `${module} belongs to no layer`);
  return index;
}

Deno.test("layers import only downward: cli -> export -> run -> notify -> process -> select -> config -> store -> core", async () => {
  const upward: string[] = [];
  for (const entry of ENTRIES) {
    for (const [from, targets] of await importGraph(entry)) {
      for (const to of targets) {
        if (layerOf(to) < layerOf(from)) {
          upward.push(
            `${from} (${LAYERS[layerOf(from)]![0]}) imports ${to} (${LAYERS[layerOf(to)]![0]})`,
          );
        }
      }
    }
  }
  assert.deepEqual([...new Set(upward)], []);
});

Deno.test("main.ts loads the export only when asked: no module of lib/export/ is a code import", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string; dependencies?: { code?: { specifier: string } }[] }[];
  };
  const codeImports = (specifier: string) =>
    info.modules.find((module) => module.specifier === specifier)?.dependencies
      ?.flatMap((dependency) => dependency.code?.specifier ?? []) ?? [];
  const reached = new Set<string>();
  const visit = (specifier: string) => {
    if (reached.has(specifier) || !specifier.startsWith("file:")) return;
    reached.add(specifier);
    codeImports(specifier).forEach(visit);
  };
  visit(new URL("main.ts", `file://${ROOT}/`).href);
  assert.ok(reached.size > 5, `the walk found ${reached.size} modules`);
  assert.deepEqual([...reached].map(name).filter((module) => module.startsWith("lib/export/")), []);
});

/** The project's TypeScript sources, relative to the root. */
async function sources(): Promise<string[]> {
  const found = ["main.ts"];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) found.push(path);
    }
  };
  await walk("lib");
  return found;
}

Deno.test("each lazyImport is typed by an `import type` of the module it loads, never `typeof import()`", async () => {
  let calls = 0;
  // lib/lazy.ts itself names both forms in its documentation.
  for (const file of (await sources()).filter((file) => file !== "lib/lazy.ts")) {
    const text = await Deno.readTextFile(join(ROOT, file));
    // One form everywhere, so the check below sees every call.
    assert.doesNotMatch(text, /typeof import\(/, file);
    const declared = new Map(
      [...text.matchAll(/^import type \* as (\w+) from "([^"]+)";$/gm)].map((m) => [m[1], m[2]]),
    );
    for (const call of text.matchAll(/lazyImport<typeof (\w+)>\(\s*"([^"]+)",/g)) {
      calls++;
      assert.equal(declared.get(call[1]), call[2], `${file}: lazyImport<typeof ${call[1]}>`);
    }
  }
  assert.ok(calls >= 10, `found ${calls} lazyImport calls`);
});

/** Every function and method in `text` with its length in lines (deno fmt's layout assumed). */
function functionLengths(text: string): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const found: { name: string; line: number; lines: number }[] = [];
  const start =
    /^(\s*)(?:export )?(?:async )?(?:function\s+(\w+)|(?:(?:private|static|async|get|override) )*(\w+)\([^)]*\)?[^=;]*\{$|const (\w+) = (?:async )?\([^)]*\)(?:: [^=]+)? => \{$)/;
  lines.forEach((line, index) => {
    const match = start.exec(line);
    const fnName = match?.[2] ?? match?.[3] ?? match?.[4];
    if (!match || !fnName || ["if", "for", "while", "switch", "catch"].includes(fnName)) return;
    const indent = match[1]!;
    const end = lines.findIndex((candidate, at) =>
      at > index && /^[}\]);,]*$/.test(candidate.slice(indent.length)) &&
      candidate.startsWith(`${indent}}`)
    );
    if (end !== -1) found.push({ name: fnName, line: index + 1, lines: end - index + 1 });
  });
  return found;
}

Deno.test("the function-length scan finds functions, methods and arrows with their length", () => {
  const body = Array.from({ length: 60 }, (_, index) => `  const v${index} = ${index};`).join("\n");
  const text = `export async function long(): Promise<void> {\n${body}\n}\n` +
    `class A {\n  private method(x: number): number {\n    return x;\n  }\n}\n` +
    `const arrow = (a: string) => {\n  return a;\n};\n`;
  assert.deepEqual(functionLengths(text).map((fn) => [fn.name, fn.lines]), [
    ["long", 62],
    ["method", 3],
    ["arrow", 3],
  ]);
});

Deno.test("every function fits on a screen (60 lines)", async () => {
  const long: string[] = [];
  const files = ["main.ts"];
  for await (const entry of Deno.readDir(join(ROOT, "lib"))) {
    files.push(...await tsFiles("lib", entry));
  }
  for (const file of files) {
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const fn of functionLengths(text)) {
      if (fn.lines > 60) {
        long.push(`${file}:${fn.line} ${fn.name} (${fn.lines} lines)`);
      }
    }
  }
  assert.deepEqual(long, []);
});

async function tsFiles(dir: string, entry: Deno.DirEntry): Promise<string[]> {
  const path = `${dir}/${entry.name}`;
  if (entry.isFile) return path.endsWith(".ts") ? [path] : [];
  const files: string[] = [];
  for await (const child of Deno.readDir(join(ROOT, path))) {
    files.push(...await tsFiles(path, child));
  }
  return files;
}

Deno.test("the version in deno.json is the one the runner reports and keys its cache on", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(config.version, VERSION);
});

Deno.test("the library entry (runOnce) is exported from deno.json beside the CLI", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.deepEqual(config.exports, { ".": "./main.ts", "./one-shot": "./lib/one_shot.ts" });
  const module = await import("../lib/one_shot.ts");
  assert.equal(typeof module.runOnce, "function");
});
