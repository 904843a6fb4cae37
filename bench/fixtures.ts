/** Configs and states for the benchmarks, made in code so every run measures the same thing. */

import {
  DEFAULT_AGENT_RETRY,
  DEFAULT_SCRIPT_RETRY,
  type Job,
  type Schedule,
} from "../lib/config/job.ts";
import type { CronState } from "../lib/store/state.ts";

const SHAPES: Schedule[] = [
  { kind: "every", minutes: 30 },
  { kind: "at", times: ["09:00", "17:30"], weekdays: [0, 2, 4] },
  { kind: "hourly" },
  { kind: "daily", hour: 6 },
  { kind: "weekly", weekday: 3, hour: 7 },
  { kind: "monthly", day: 31, hour: 5 },
];

/** `count` jobs cycling through every schedule shape, half agent and half script. */
export function mixedJobs(count: number): Job[] {
  return Array.from({ length: count }, (_, index): Job => {
    const base = {
      name: `job_${index}`,
      schedule: SHAPES[index % SHAPES.length]!,
      timeoutSeconds: 1800,
      idleTimeoutSeconds: 600,
      maxLogBytes: null,
      computers: null,
      notify: null,
      enabled: true,
      jitterMinutes: 0,
    };
    return index % 2
      ? {
        ...base,
        type: "script",
        command: ["/bin/true"],
        discovered: false,
        retry: { ...DEFAULT_SCRIPT_RETRY },
      }
      : {
        ...base,
        retry: { ...DEFAULT_AGENT_RETRY },
        type: "agent",
        spec: "spec",
        agent: "claude",
        thinkingMode: "fast",
        role: "admin",
        maxTurns: null,
        maxBudgetUsd: null,
      };
  });
}

/** A state in which every job ran at `ranAt`. */
export function stateRanAt(jobs: Job[], ranAt: number): CronState {
  return {
    jobs: Object.fromEntries(jobs.map((job) => [job.name, {
      last_run: new Date(ranAt).toISOString(),
      last_status: "success" as const,
      last_error: null,
    }])),
  };
}

/** teleclaude.yml text for `count` jobs of mixed shapes. */
export function mixedConfigYaml(count: number): string {
  const lines = ["jobs:"];
  const whens = [
    "when: { every: 30m }",
    'when: { at: ["09:00", "17:30"], weekdays: [mon, wed, fri] }',
    "schedule: hourly",
    "schedule: daily\n    preferred_hour: 6",
    "schedule: weekly\n    preferred_weekday: 3",
    "schedule: monthly\n    preferred_day: 31",
  ];
  for (let index = 0; index < count; index++) {
    lines.push(`  job_${index}:`);
    lines.push(
      index % 2
        ? "    script: /bin/true"
        : "    job: spec\n    agent: claude\n    thinking_mode: med",
    );
    lines.push(`    ${whens[index % whens.length]}`);
  }
  return `${lines.join("\n")}\n`;
}
