/**
 * Jobs and configs as the parser makes them, for the tests that hand them to the runner's modules
 * directly (the loop, the views): every field at the value a config that says nothing gives it.
 */

import {
  type AgentJob,
  type Config,
  DEFAULT_AGENT_RETRY,
  DEFAULT_NOTIFY,
  DEFAULT_SCRIPT_RETRY,
  type Job,
  type NotifySettings,
  type Schedule,
  type ScriptJob,
} from "../../lib/config/job.ts";

const BASE = {
  timeoutSeconds: 60,
  maxLogBytes: null,
  computers: null,
  notify: null,
  enabled: true,
  jitterMinutes: 0,
};

/** A script job running `/bin/true`, every 10 minutes unless `schedule` says otherwise. */
export function scriptJob(
  name: string,
  schedule: Schedule = { kind: "every", minutes: 10 },
  more: Partial<ScriptJob> = {},
): ScriptJob {
  return {
    ...BASE,
    name,
    type: "script",
    command: ["/bin/true"],
    discovered: false,
    schedule,
    idleTimeoutSeconds: 0,
    retry: { ...DEFAULT_SCRIPT_RETRY },
    ...more,
  };
}

/** A claude agent job on spec `s`, with the agent jobs' default retries. */
export function agentJob(name: string, schedule: Schedule, more: Partial<AgentJob> = {}): AgentJob {
  return {
    ...BASE,
    name,
    type: "agent",
    spec: "s",
    agent: "claude",
    thinkingMode: "fast",
    role: "admin",
    maxTurns: null,
    maxBudgetUsd: null,
    schedule,
    idleTimeoutSeconds: 600,
    retry: { ...DEFAULT_AGENT_RETRY },
    ...more,
  };
}

/** A config of `jobs` in `home`, telling through `notify` (by default through nothing). */
export function testConfig(
  home: string,
  jobs: Job[],
  notify: NotifySettings = { ...DEFAULT_NOTIFY, desktop: false, daemon: false },
): Config {
  return {
    file: `${home}/teleclaude.yml`,
    displayName: "teleclaude.yml",
    dir: home,
    jobs,
    agents: {},
    cron: { notify, metricsFile: null, budget: {} },
    warnings: [],
  };
}
