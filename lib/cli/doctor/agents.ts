/**
 * The doctor on the agent CLIs the config uses: found for this shell and for the service, at a
 * version no older than the one this runner was verified with, and nothing in their own setup
 * that fails every job: claude as root, gemini's folder trust, codex's provider.
 */

import { AGENT_PACKAGES, resolveAgentBinary, VERIFIED_VERSIONS } from "../../agents.ts";
import type { AgentName, Config } from "../../config/job.ts";
import { dirname, join } from "../../posix_path.ts";
import { MAX_AGENT_FILE_BYTES, readRegularFile } from "../../regular_file.ts";
import { commandOutput } from "../../subprocess.ts";
import { type Check, type DoctorContext, tool } from "./check.ts";

/** How long a CLI may take to print its version (a node CLI starting cold takes seconds). */
const VERSION_TIMEOUT_MS = 20_000;

export async function checkAgents(
  config: Config,
  context: DoctorContext,
  servicePath: string | null,
  checks: Check[],
): Promise<void> {
  const agents = [
    ...new Set(config.jobs.flatMap((job) => job.type === "agent" ? [job.agent] : [])),
  ] as AgentName[];
  const environments: [string, string][] = [["this shell", context.path]];
  if (servicePath !== null) environments.push(["the service", servicePath]);
  for (const agent of agents) {
    const versioned = new Set<string>();
    for (const [where, path] of environments) {
      const found = resolveAgentBinary(agent, config.agents[agent], {
        path,
        home: context.paths.home,
        os: context.os,
      });
      checks.push(
        found.found
          ? { name: `agent ${agent}`, status: "ok", detail: `found for ${where}: ${found.path}` }
          : {
            name: `agent ${agent}`,
            status: "fail",
            // The reason's own advice (set agents.NAME.binary) is the fix below: where it looked
            // is what the detail adds.
            detail: config.agents[agent]?.binary
              ? `not found for ${where}: ${found.reason}`
              : `not found for ${where}: looked in ${found.searched.join(", ")}`,
            fix: where === "the service"
              ? `re-run ./init.sh from a shell where \`${agent}\` works (it writes that PATH into the service), or set agents.${agent}.binary`
              : `install the ${agent} CLI, or set agents.${agent}.binary to its full path`,
          },
      );
      if (found.found && !versioned.has(found.path)) {
        versioned.add(found.path);
        checks.push(await checkVersion(agent, found.path, path, context));
      }
    }
  }
  if (agents.includes("claude")) await checkClaudeAsRoot(context, checks);
  if (agents.includes("gemini")) await checkGeminiTrust(config.dir, context, checks);
  if (agents.includes("codex")) await checkCodexProvider(context, checks);
}

/** The CLI's version against the verified one; run with the PATH it would have (node scripts). */
async function checkVersion(
  agent: AgentName,
  binary: string,
  path: string,
  context: DoctorContext,
): Promise<Check> {
  const name = `${agent} version`;
  const output = await commandOutput(binary, ["--version"], {
    env: { PATH: path, HOME: context.paths.home, NO_COLOR: "1" },
    timeoutMs: VERSION_TIMEOUT_MS,
  });
  const version = /\b(\d+)\.(\d+)\.(\d+)\b/.exec(output?.success ? output.stdout : "");
  const verified = VERIFIED_VERSIONS[agent];
  if (!version) {
    const said = output ? `${output.stdout}${output.stderr}`.trim().split("\n")[0] : "";
    return {
      name,
      status: "info",
      detail: `${binary} --version printed no version (${
        said?.slice(0, 200) || "nothing"
      }); verified: ${verified}`,
    };
  }
  const order = compareVersions(version.slice(1).map(Number), verified.split(".").map(Number));
  if (order === 0) {
    return {
      name,
      status: "ok",
      detail: `${version[0]}, the version this runner was verified with`,
    };
  }
  if (order > 0) {
    return {
      name,
      status: "info",
      detail: `${version[0]} is newer than ${verified}, the version this runner was verified with`,
    };
  }
  return {
    name,
    status: "fail",
    detail: `${version[0]} (${binary}) is older than ${verified}, the version this runner was ` +
      "verified with: flags the runner passes may not exist in it",
    fix: `update it: npm install -g ${AGENT_PACKAGES[agent]}@${verified} (or newer)`,
  };
}

function compareVersions(left: number[], right: number[]): number {
  for (let i = 0; i < 3; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/**
 * Claude refuses `--dangerously-skip-permissions` as root (unless `IS_SANDBOX=1`, meant for
 * containers): a service running as root fails every claude job with that message.
 */
async function checkClaudeAsRoot(context: DoctorContext, checks: Check[]): Promise<void> {
  const uid = (await tool(context, "id", ["-u"]))?.output.trim();
  if (uid !== "0") return;
  checks.push(
    context.env.IS_SANDBOX === "1"
      ? {
        name: "claude as root",
        status: "info",
        detail: "running as root with IS_SANDBOX=1: claude accepts it here; " +
          "the service needs it in its own environment too",
      }
      : {
        name: "claude as root",
        status: "fail",
        detail: "running as root: claude refuses --dangerously-skip-permissions with root " +
          "privileges, so every claude job would fail",
        fix: "install and run the service as a regular user (./init.sh as that user)",
      },
  );
}

/** Gemini's trust levels (trustedFolders.json): the longest matching path wins. */
const TRUST_LEVELS = ["TRUST_FOLDER", "TRUST_PARENT", "DO_NOT_TRUST"];

/**
 * Gemini's folder trust for the config's directory. Jobs pass `--skip-trust` (the config naming
 * the folder is the trust), so only what overrides that fails them: an invalid trust file (exit
 * 52 before anything runs) or an environment forcing untrusted mode.
 */
async function checkGeminiTrust(
  dir: string,
  context: DoctorContext,
  checks: Check[],
): Promise<void> {
  const forced = context.env.GEMINI_CLI_TRUST_WORKSPACE === "false"
    ? "GEMINI_CLI_TRUST_WORKSPACE=false"
    : context.env.GEMINI_RESTRICTED_MODE === "true"
    ? "GEMINI_RESTRICTED_MODE=true"
    : null;
  if (forced) {
    checks.push({
      name: "gemini trust",
      status: "fail",
      detail: `${forced} is set: gemini treats every folder as untrusted, --skip-trust included`,
      fix: `unset ${forced.split("=")[0]} where the service runs`,
    });
    return;
  }
  const file = context.env.GEMINI_CLI_TRUSTED_FOLDERS_PATH ||
    join(context.env.GEMINI_CLI_HOME || context.paths.home, ".gemini", "trustedFolders.json");
  const rules = await readTrustRules(file);
  if ("unreadable" in rules || "invalid" in rules) {
    checks.push({
      name: "gemini trust",
      status: "fail",
      detail: "invalid" in rules
        ? `${file}: ${rules.invalid}: gemini stops before any job (exit 52)`
        : `${file}: ${rules.unreadable}: gemini reads it before any job, so every one would fail`,
      fix: `correct ${file} (levels: ${TRUST_LEVELS.join(", ")}) or remove it`,
    });
    return;
  }
  checks.push({
    name: "gemini trust",
    status: "info",
    detail: `${dir} is ${trustOf(dir, rules.rules)} in ${file}; ` +
      "gemini jobs pass --skip-trust, so they run either way",
  });
}

/** What a trust file holds: its rules (none when it is absent), or what is wrong with it. */
type TrustFile = { rules: Record<string, string> } | { unreadable: string } | { invalid: string };

async function readTrustRules(file: string): Promise<TrustFile> {
  const read = await readRegularFile(file, MAX_AGENT_FILE_BYTES);
  if (read.kind === "absent") return { rules: {} };
  if (read.kind === "refused") return { unreadable: read.reason };
  const text = read.text;
  let rules: unknown;
  try {
    // Gemini allows // comments in it.
    rules = JSON.parse(text.replace(/^\s*\/\/.*$/gm, ""));
  } catch {
    return { invalid: "is not valid JSON" };
  }
  if (rules === null || typeof rules !== "object" || Array.isArray(rules)) {
    return { invalid: "is not a JSON object of path → level" };
  }
  for (const [path, level] of Object.entries(rules)) {
    if (!TRUST_LEVELS.includes(level as string)) {
      return { invalid: `invalid trust level ${JSON.stringify(level)} for ${path}` };
    }
  }
  return { rules: rules as Record<string, string> };
}

/** Which rule decides `dir`: the longest path that contains it (TRUST_PARENT: its parent does). */
function trustOf(dir: string, rules: Record<string, string>): string {
  const real = realPath(dir);
  let best: [number, string] | null = null;
  for (const [path, level] of Object.entries(rules)) {
    const root = level === "TRUST_PARENT" ? dirname(realPath(path)) : realPath(path);
    const inside = real === root || real.startsWith(root.endsWith("/") ? root : `${root}/`);
    if (inside && (best === null || root.length > best[0])) best = [root.length, level];
  }
  if (best === null) return "not trusted (no rule names it)";
  return best[1] === "DO_NOT_TRUST" ? "marked DO_NOT_TRUST" : `trusted (${best[1]})`;
}

function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * Codex's provider, from its user config: jobs choose the model (`-m`), the provider and its
 * credentials come from `$CODEX_HOME/config.toml` (default `~/.codex`).
 */
async function checkCodexProvider(context: DoctorContext, checks: Check[]): Promise<void> {
  const home = context.env.CODEX_HOME || join(context.paths.home, ".codex");
  const file = join(home, "config.toml");
  const read = await readRegularFile(file, MAX_AGENT_FILE_BYTES);
  if (read.kind === "refused") {
    checks.push({
      name: "codex provider",
      status: "fail",
      detail: `${file}: ${read.reason}`,
      fix: `make ${file} a regular file or remove it: codex reads its settings from it, so ` +
        "every codex job would fail",
    });
    return;
  }
  const text = read.kind === "text" ? read.text : "";
  // Top-level keys come before the first [table].
  const topLevel = text.split(/^\s*\[/m)[0] ?? "";
  const provider = /^\s*model_provider\s*=\s*"([^"]+)"/m.exec(topLevel)?.[1] ?? "openai";
  // Provider ids are bare TOML keys: letters, digits, _ and -.
  const table = /^[\w-]+$/.test(provider)
    ? new RegExp(`^\\s*\\[model_providers\\.${provider}\\]([^[]*)`, "m").exec(text)?.[1]
    : undefined;
  const baseUrl = table ? /^\s*base_url\s*=\s*"([^"]+)"/m.exec(table)?.[1] : undefined;
  if (provider !== "openai" && provider !== "oss" && table === undefined) {
    checks.push({
      name: "codex provider",
      status: "fail",
      detail:
        `${file} sets model_provider = "${provider}" but has no [model_providers.${provider}]`,
      fix: `add the [model_providers.${provider}] table, or remove model_provider`,
    });
    return;
  }
  checks.push({
    name: "codex provider",
    status: "info",
    detail: `${provider}${baseUrl ? ` at ${baseUrl}` : ""} (${
      text ? file : `${file} absent: codex's defaults`
    }); jobs choose the model with -m`,
  });
}
