/**
 * POSIX path helpers for the modules on the idle tick. `node:path` would do, but importing any
 * `node:` module starts Deno's Node compatibility layer, which costs the 5-minute tick about 40% of
 * a bare Deno start (docs/benchmarks.md). The runner runs on macOS and Linux only.
 */

/** Joins path segments with `/` and normalises the result. */
export function join(...parts: string[]): string {
  return normalize(parts.filter((part) => part !== "").join("/"));
}

/** Whether a path starts at the root. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** The absolute form of a path, against `from` (default: the working directory). */
export function resolve(from: string, path?: string): string {
  if (path === undefined) [from, path] = [Deno.cwd(), from];
  return normalize(
    isAbsolute(path) ? path : `${isAbsolute(from) ? from : `${Deno.cwd()}/${from}`}/${path}`,
  );
}

/** Everything before the last segment: `/a/b/c` → `/a/b`. */
export function dirname(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const index = trimmed.lastIndexOf("/");
  if (index === -1) return ".";
  return index === 0 ? "/" : trimmed.slice(0, index);
}

/** The last segment, without `suffix` when it ends with it. */
export function basename(path: string, suffix = ""): string {
  const name = path.replace(/\/+$/, "").split("/").at(-1) ?? "";
  return suffix && name.endsWith(suffix) && name !== suffix ? name.slice(0, -suffix.length) : name;
}

/** The extension of the last segment, dot included (`.sh`), or "". */
export function extname(path: string): string {
  const name = basename(path);
  const index = name.lastIndexOf(".");
  return index <= 0 ? "" : name.slice(index);
}

/** Collapses `//`, `.` and `..` segments. */
export function normalize(path: string): string {
  const absolute = isAbsolute(path);
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else {
      out.push(segment);
    }
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined || ".";
}
