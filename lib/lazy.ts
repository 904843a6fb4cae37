/**
 * Imports one of this project's modules when it is first needed, out of sight of the module graph
 * Deno builds at start-up. Deno reads and checks every module a literal `import("…")` names
 * before `main` runs, lazily loaded or not; on the idle tick that was 23 files nobody used
 * (docs/benchmarks.md, "Idle tick"). Each call names its module twice, as a type and as a path:
 * `import type * as X from "./x.ts"` and `lazyImport<typeof X>("./x.ts", import.meta.url)`, so
 * the result stays fully typed; tests/architecture_test.ts checks the two names agree (one form
 * everywhere, no `typeof import("…")`, so that check can hold), and `deno compile --include lib`
 * embeds the modules the graph no longer names.
 */

/** The module at `specifier`, resolved against `base` (the caller's `import.meta.url`). */
export function lazyImport<Module>(specifier: string, base: string): Promise<Module> {
  return import(new URL(specifier, base).href);
}
