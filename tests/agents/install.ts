/**
 * The real agent CLIs at their pinned versions (versions.json), installed with npm into a cache
 * outside the repository and shared by every test file and every checkout on the machine:
 * `${XDG_CACHE_HOME:-$HOME/.cache}/teleclaude-cron/agents/<package>@<version>/`.
 *
 * Several test files may call `installAgents()` at once, in parallel processes (`deno test
 * --parallel`): an flock on `<cache>/install.lock` lets one of them install while the others wait
 * and then find the binaries in place.
 */

import { dirname, join } from "node:path";
import type { AgentName } from "../../lib/config/job.ts";
import pins from "./versions.json" with { type: "json" };

/** One pinned CLI: its npm package, the exact version and its executable inside the package. */
export interface AgentPin {
  package: string;
  version: string;
  /** Relative to the package's directory (`node_modules/<package>/`). */
  bin: string;
}

/** The pins of versions.json. */
export const AGENT_PINS: Readonly<Record<AgentName, AgentPin>> = pins;

/** Every agent the suite runs, in a fixed order. */
export const AGENTS: readonly AgentName[] = ["claude", "codex", "gemini"];

/**
 * Either every pinned CLI is installed and answers `--version` with its pinned version, or the
 * reason they are not (the suite then skips, printing it).
 */
export type InstalledAgents =
  | {
    kind: "installed";
    /** Absolute paths, runnable as they are (the node scripts need `node` on PATH). */
    binaries: Record<AgentName, string>;
    /** What each binary printed for `--version`. */
    versions: Record<AgentName, string>;
  }
  | { kind: "skipped"; reason: string };

/** What installing or checking one agent came to. */
type AgentResult = { ok: true; path: string; version: string } | { ok: false; reason: string };

const VERSION_TIMEOUT_MS = 60_000;
// The claude package is a 400 MB native binary: a slow link needs minutes.
const NPM_TIMEOUT_MS = 15 * 60_000;

let installing: Promise<InstalledAgents> | null = null;

/**
 * Installs the pinned CLIs unless they are already in the cache, and checks each one runs. Never
 * throws for a missing npm, an unreachable registry or a failed install: those are `skipped`.
 * The result is computed once per process.
 */
export function installAgents(): Promise<InstalledAgents> {
  installing ??= installAll();
  return installing;
}

/** The cache directory, or null when neither XDG_CACHE_HOME nor HOME says where it is. */
export function agentCacheDir(): string | null {
  const base = Deno.env.get("XDG_CACHE_HOME") ||
    (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : null);
  return base ? join(base, "teleclaude-cron", "agents") : null;
}

/** Where a pinned CLI's executable is once installed under `cache`. */
export function binaryPath(cache: string, pin: AgentPin): string {
  return join(cache, `${pin.package}@${pin.version}`, "node_modules", pin.package, pin.bin);
}

/** The first executable `name` in this process's PATH, or null. */
export function findOnPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
  }
  return null;
}

/** The directory of `node`, which codex's and gemini's executables (node scripts) need on PATH. */
export function nodeDirectory(): string | null {
  const node = findOnPath("node");
  return node ? dirname(node) : null;
}

async function installAll(): Promise<InstalledAgents> {
  const cache = agentCacheDir();
  if (!cache) return { kind: "skipped", reason: "neither XDG_CACHE_HOME nor HOME is set" };
  const nodeDir = nodeDirectory();
  if (!nodeDir) {
    return { kind: "skipped", reason: "node is not on PATH (codex and gemini need it)" };
  }
  const probeHome = await Deno.makeTempDir({ prefix: "tc-agent-version-" });
  try {
    const check = (agent: AgentName) => checkAgent(cache, agent, nodeDir, probeHome);
    let results = await Promise.all(AGENTS.map(check));
    // The fast path takes no lock: a binary that answers its pinned version is complete.
    if (results.some((result) => !result.ok)) {
      results = await withInstallLock(cache, async () => {
        // Another process may have installed them meanwhile.
        const present = await Promise.all(AGENTS.map(check));
        announceInstall(AGENTS.filter((_, index) => !present[index]!.ok), cache);
        return await Promise.all(
          AGENTS.map((agent, index) =>
            present[index]!.ok ? present[index]! : installAgent(cache, agent, nodeDir, probeHome)
          ),
        );
      });
    }
    return summarize(results);
  } finally {
    await Deno.remove(probeHome, { recursive: true }).catch(() => {});
  }
}

/**
 * One line before the long wait: the pins are about 900 MB from npm (claude alone is a 400 MB
 * native binary), minutes of silence otherwise. Nothing is said when they are all in place.
 */
function announceInstall(missing: AgentName[], cache: string): void {
  if (missing.length === 0) return;
  const pins = missing.map((agent) => `${AGENT_PINS[agent].package}@${AGENT_PINS[agent].version}`);
  // deno-lint-ignore no-console -- a progress line for a person waiting
  console.error(
    `agents: installing ${pins.join(", ")} from npm into ${cache} (about 900 MB for all ` +
      "three: this takes minutes on a slow link)",
  );
}

function summarize(results: AgentResult[]): InstalledAgents {
  const failures = results.flatMap((result) => result.ok ? [] : [result.reason]);
  if (failures.length) return { kind: "skipped", reason: failures.join("; ") };
  const entries = (pick: (result: AgentResult & { ok: true }) => string) =>
    Object.fromEntries(
      AGENTS.map((agent, i) => [agent, pick(results[i] as AgentResult & { ok: true })]),
    ) as Record<AgentName, string>;
  return {
    kind: "installed",
    binaries: entries((result) => result.path),
    versions: entries((result) => result.version),
  };
}

/** Runs `body` holding an exclusive flock on `<cache>/install.lock`. */
async function withInstallLock<T>(cache: string, body: () => Promise<T>): Promise<T> {
  await Deno.mkdir(cache, { recursive: true });
  using file = await Deno.open(join(cache, "install.lock"), { create: true, write: true });
  await file.lock(true);
  try {
    return await body();
  } finally {
    await file.unlock();
  }
}

/** Whether the cached binary exists and prints its pinned version. */
async function checkAgent(
  cache: string,
  agent: AgentName,
  nodeDir: string,
  probeHome: string,
): Promise<AgentResult> {
  const pin = AGENT_PINS[agent];
  const path = binaryPath(cache, pin);
  // A scratch HOME: some CLIs create their config directory even for --version.
  const env = { PATH: `${nodeDir}:/usr/bin:/bin`, HOME: probeHome, NO_COLOR: "1" };
  const output = await runBounded(path, ["--version"], { env, clearEnv: true }, VERSION_TIMEOUT_MS);
  if (output === null) return { ok: false, reason: `${agent}: ${path} is not installed` };
  const version = output.stdout.trim().split("\n")[0] ?? "";
  if (output.code === 0 && version.includes(pin.version)) return { ok: true, path, version };
  return {
    ok: false,
    reason: `${agent}: \`${path} --version\` exited ${output.code} printing ${
      JSON.stringify(version || output.stderr.trim().slice(-300))
    }, not ${pin.version}`,
  };
}

/** `npm install`s one pinned package into its cache directory, then checks it. */
async function installAgent(
  cache: string,
  agent: AgentName,
  nodeDir: string,
  probeHome: string,
): Promise<AgentResult> {
  const pin = AGENT_PINS[agent];
  const spec = `${pin.package}@${pin.version}`;
  const prefix = join(cache, spec);
  // A broken earlier install (killed midway, postinstall skipped) looks "up to date" to npm.
  await Deno.remove(prefix, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const npm = findOnPath("npm");
  if (!npm) return { ok: false, reason: `${agent}: npm is not on PATH, cannot install ${spec}` };
  const args = ["install", "--prefix", prefix, "--no-fund", "--no-audit", "--no-save", spec];
  const output = await runBounded(npm, args, {}, NPM_TIMEOUT_MS);
  if (output === null || output.code !== 0) {
    const why = output === null ? "npm did not start" : npmFailure(output);
    return { ok: false, reason: `${agent}: npm ${args.join(" ")} failed: ${why}` };
  }
  return await checkAgent(cache, agent, nodeDir, probeHome);
}

/**
 * The gist of a failed npm run: its error code and first message line (`ECONNREFUSED: request to
 * ... failed`, `E404: 404 Not Found - GET ...`), not the stack and log-file trailer after them.
 */
function npmFailure(output: Finished): string {
  if (output.code === 143) return `no answer within ${NPM_TIMEOUT_MS / 60_000} min`;
  const lines = output.stderr.split("\n").flatMap((line) => {
    const match = /^npm (?:error|ERR!) (.*)$/.exec(line);
    return match ? [match[1]!] : [];
  });
  const code = lines.find((line) => line.startsWith("code "))?.slice(5);
  const message = lines.find((line) => line && !/^(code|syscall|errno) |^\s/.test(line));
  const gist = [code, message].filter(Boolean).join(": ");
  return gist || `exit ${output.code}: ${output.stderr.trim().slice(-300)}`;
}

/** A finished command's exit code and output; `null` when the program does not exist. */
interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; SIGTERM after `timeoutMs` (code 143, with what it printed). */
async function runBounded(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; clearEnv?: boolean },
  timeoutMs: number,
): Promise<Finished | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const output = await new Deno.Command(command, {
      args,
      ...options,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return null;
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `deno task agents:install`: installs the pins (CI does this first) and prints each version;
 * exits 1 with the reason when they cannot be installed, where the suite itself would skip.
 */
if (import.meta.main) {
  const installed = await installAgents();
  if (installed.kind === "skipped") {
    // deno-lint-ignore no-console -- a command-line entry point
    console.error(`agent CLIs not installed: ${installed.reason}`);
    Deno.exit(1);
  }
  for (const agent of AGENTS) {
    // deno-lint-ignore no-console -- a command-line entry point
    console.log(`${agent}: ${installed.versions[agent]} at ${installed.binaries[agent]}`);
  }
}
