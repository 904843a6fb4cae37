/**
 * init.sh's look at the config before it installs anything, with the runner's own rules:
 *
 *   preflight.ts CONFIG SERVICE_PATH
 *
 * The config must load (else its located problems and exit 2, as a tick would give). Then, one
 * line each on stdout:
 *   `backstop SECONDS`  every job's timeout added up plus ten minutes: the service's own limit
 *                       (systemd's TimeoutStartSec), never reached while the runner works
 *   `missing AGENT REASON`  an agent the config's jobs use that the service, with SERVICE_PATH
 *                       as its PATH, would not find (lib/agents.ts resolveAgentBinary, as every
 *                       job and the doctor look for it)
 * Reads only: `--allow-read --allow-env`.
 */

// deno-lint-ignore-file no-console -- a command-line helper: its output is what init.sh reads.

import { resolveAgentBinary } from "../lib/agents.ts";
import { type AgentName, serviceLimitSeconds } from "../lib/config/job.ts";
import { loadConfig } from "../lib/config/load.ts";
import { ConfigError, formatProblem } from "../lib/errors.ts";

async function preflight(configPath: string, servicePath: string): Promise<string[]> {
  const { config } = await loadConfig(configPath, null);
  for (const warning of config.warnings) console.error(`warning: ${formatProblem(warning)}`);
  const lines = [`backstop ${serviceLimitSeconds(config.jobs)}`];
  const agents = new Set(config.jobs.flatMap((job) => job.type === "agent" ? [job.agent] : []));
  for (const agent of agents as Set<AgentName>) {
    const found = resolveAgentBinary(agent, config.agents[agent], {
      path: servicePath,
      home: Deno.env.get("HOME") ?? "",
      os: Deno.build.os,
    });
    if (!found.found) lines.push(`missing ${agent} ${found.reason}`);
  }
  return lines;
}

if (import.meta.main) {
  const [configPath, servicePath] = Deno.args;
  if (configPath === undefined || servicePath === undefined) {
    console.error("usage: preflight.ts CONFIG SERVICE_PATH");
    Deno.exit(2);
  }
  try {
    for (const line of await preflight(configPath, servicePath)) console.log(line);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(error.exitCode);
  }
}
