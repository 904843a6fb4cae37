/**
 * The runner's own Deno config: `deno.runtime.json` (the import map entries `main.ts` and `lib/`
 * use) and `deno.runtime.lock` (`deno.lock` cut down to their packages, by Deno itself). Deno
 * fetches every npm package of a lockfile before it runs anything: measured with Deno 2.9.6, a
 * `--dry-run` that needs only yaml, and even a `deno task`, fetched kubernetes-models and ajv
 * too, which only the tests use. So the runner run from this tree (scripts/run.sh), compiled
 * (scripts/compile.sh) or installed as the source form uses these two files, and fetches only
 * what it loads; the tests and the tools use deno.json and deno.lock.
 *
 *   deno run --allow-read --allow-write --allow-run scripts/runtime_config.ts [DIR]
 *
 * writes both into DIR (default: this tree): run it after changing deno.json's imports or
 * deno.lock. tests/service/quick_start_test.ts checks the committed pair is what it makes.
 */

// deno-lint-ignore-file no-console -- a command-line tool.

import { runtimeFiles, sourceRoot } from "../lib/build.ts";
import { join } from "../lib/posix_path.ts";

/** Deno's lockfile, as much of it as is cut here (version 5). */
interface Lockfile {
  version: string;
  specifiers?: Record<string, string>;
  npm?: Record<string, unknown>;
  workspace?: { dependencies?: string[] };
  [key: string]: unknown;
}

/** The import map entries the runtime files name (`"yaml"`, or `"kubernetes-models/…"`). */
export function runtimeImports(
  root: string,
  imports: Record<string, string>,
): Record<string, string> {
  const sources = runtimeFiles(root).filter((file) => file.endsWith(".ts"))
    .map((file) => Deno.readTextFileSync(join(root, file)));
  return Object.fromEntries(
    Object.entries(imports).filter(([key]) =>
      sources.some((text) => text.includes(key.endsWith("/") ? `"${key}` : `"${key}"`))
    ),
  );
}

/** Writes deno.runtime.json and deno.runtime.lock into `dir`; throws when Deno's cut is not a subset. */
export async function writeRuntimeConfig(root: string, dir: string): Promise<void> {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const runtime = { imports: runtimeImports(root, config.imports ?? {}), nodeModulesDir: "none" };
  const configPath = join(dir, "deno.runtime.json");
  const lockPath = join(dir, "deno.runtime.lock");
  Deno.writeTextFileSync(configPath, JSON.stringify(runtime, null, 2) + "\n");
  Deno.copyFileSync(join(root, "deno.lock"), lockPath);
  // Deno drops from a lockfile what its config no longer reaches, and resolves nothing anew
  // for what the lockfile already pins.
  const cut = await new Deno.Command(Deno.execPath(), {
    args: [
      "cache",
      "--quiet",
      "--config",
      configPath,
      "--lock",
      lockPath,
      join(root, "main.ts"),
      join(root, "lib/"),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!cut.success) throw new Error(new TextDecoder().decode(cut.stderr));
  checkSubset(
    JSON.parse(Deno.readTextFileSync(join(root, "deno.lock"))),
    JSON.parse(Deno.readTextFileSync(lockPath)),
  );
}

/** Every pin of the cut lockfile is the full lockfile's own, unchanged. */
function checkSubset(full: Lockfile, cut: Lockfile): void {
  for (const section of ["specifiers", "npm"] as const) {
    for (const [key, value] of Object.entries(cut[section] ?? {})) {
      if (JSON.stringify(full[section]?.[key]) !== JSON.stringify(value)) {
        throw new Error(
          `deno.runtime.lock ${section}.${key} is not deno.lock's: ${JSON.stringify(value)}`,
        );
      }
    }
  }
}

if (import.meta.main) {
  const root = sourceRoot(null);
  await writeRuntimeConfig(root, Deno.args[0] ?? root);
  console.log(`wrote deno.runtime.json and deno.runtime.lock in ${Deno.args[0] ?? root}`);
}
