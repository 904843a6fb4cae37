/**
 * init.sh's copy of this source tree's runtime files (lib/build.ts `runtimeFiles`), stamped with
 * how it is installed (lib/version.ts `INSTALLED`):
 *
 *   stage.ts build                  prints this tree's build (64 hex digits)
 *   stage.ts compiled|source PARENT makes PARENT/<version>-<build, 12 digits>/ and prints
 *                                   `<new|unchanged|repaired> <build> <dir>`
 *
 * The copy is made beside its final name and renamed into place, so a directory of that name is
 * always whole. One already there with the same files is left alone (`unchanged`: a second
 * install changes nothing); one that differs (edited, half deleted) is replaced (`repaired`).
 * Directories are 0700 and files 0600: they live under ~/.teleclaude. Run by init.sh with
 * `--allow-read --allow-write=PARENT`.
 */

// deno-lint-ignore-file no-console -- a command-line helper: its output is what init.sh reads.

import { buildId, runtimeFiles, SHORT_BUILD, sourceRoot } from "../lib/build.ts";
import { dirname, join } from "../lib/posix_path.ts";
import type { InstallStamp } from "../lib/version.ts";
import { VERSION } from "../lib/version.ts";

const STAMP_LINE = "export const INSTALLED: InstallStamp | null = null;";

/** Copies the runtime files of `from` into `to` (which must not exist yet). */
function copyTree(from: string, to: string): void {
  for (const file of runtimeFiles(from)) {
    const target = join(to, file);
    Deno.mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    Deno.writeFileSync(target, Deno.readFileSync(join(from, file)), { mode: 0o600 });
  }
}

/** Replaces the stamp line of the copy's lib/version.ts; it must be there exactly once. */
function stamp(dir: string, installed: InstallStamp): void {
  const path = join(dir, "lib/version.ts");
  const text = Deno.readTextFileSync(path);
  if (text.split(STAMP_LINE).length !== 2) {
    throw new Error(`${path} does not hold the line ${JSON.stringify(STAMP_LINE)} exactly once`);
  }
  const stamped = `export const INSTALLED: InstallStamp | null = ${JSON.stringify(installed)};`;
  Deno.writeTextFileSync(path, text.replace(STAMP_LINE, () => stamped), { mode: 0o600 });
}

/** Whether two copies hold the same files, byte for byte. */
function sameFiles(a: string, b: string): boolean {
  const files = runtimeFiles(a);
  if (files.join("\n") !== runtimeFiles(b).join("\n")) return false;
  return files.every((file) => {
    const left = Deno.readFileSync(join(a, file));
    const right = Deno.readFileSync(join(b, file));
    return left.length === right.length && left.every((byte, index) => byte === right[index]);
  });
}

function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

async function stage(form: InstallStamp["form"], parent: string): Promise<string> {
  const source = sourceRoot(null);
  Deno.mkdirSync(parent, { recursive: true, mode: 0o700 });
  const staging = join(parent, `.staging-${Deno.pid}`);
  removeIfThere(staging); // left by an init.sh killed while copying
  copyTree(source, staging);
  // The build of the bytes copied, not of the tree read a second time: a file saved meanwhile
  // cannot make the stamp lie.
  const build = await buildId(staging);
  stamp(staging, { form, build, source });
  const dir = join(parent, `${VERSION}-${build.slice(0, SHORT_BUILD)}`);
  let status = "new";
  try {
    if (sameFiles(dir, staging)) {
      Deno.removeSync(staging, { recursive: true });
      return `unchanged ${build} ${dir}`;
    }
    Deno.removeSync(dir, { recursive: true });
    status = "repaired";
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.renameSync(staging, dir);
  return `${status} ${build} ${dir}`;
}

if (import.meta.main) {
  const [what, parent] = Deno.args;
  if (what === "build" && parent === undefined) {
    console.log(await buildId(sourceRoot(null)));
  } else if ((what === "compiled" || what === "source") && parent?.startsWith("/")) {
    console.log(await stage(what, parent));
  } else {
    console.error("usage: stage.ts build | stage.ts compiled|source /absolute/parent");
    Deno.exit(2);
  }
}
