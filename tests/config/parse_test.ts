import assert from "node:assert/strict";
import { splitCommand } from "../../lib/config/job.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { ConfigError } from "../../lib/errors.ts";

const source = { displayName: "teleclaude.yml", file: "/project/teleclaude.yml" };

function problemsOf(yaml: string): string[] {
  try {
    parseConfig(yaml, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split("\n");
    throw error;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("parseConfig() reads every schedule shape and the job fields with their defaults", () => {
  const config = parseConfig(
    `
other_component: { anything: 1 }
jobs:
  a: { script: "jobs/a.sh --flag 'two words'", when: { every: 10m } }
  b: { job: spec_b, when: { at: ["17:30", "9:00"], weekdays: [wed, mon] } }
  c: { job: c, agent: codex, thinking_mode: deep, schedule: weekly, preferred_weekday: 4, preferred_hour: 7, timeout: 60, role: member }
  d: { script: [x.py, "--y"], schedule: monthly, preferred_day: 31 }
  e: { script: e.sh, schedule: hourly }
  f: { job: f }
`,
    source,
  );
  assert.equal(config.dir, "/project");
  const [a, b, c, d, e, f] = config.jobs;
  assert.deepEqual(a, {
    name: "a",
    type: "script",
    command: ["jobs/a.sh", "--flag", "two words"],
    discovered: false,
    schedule: { kind: "every", minutes: 10 },
    timeoutSeconds: 1800,
    idleTimeoutSeconds: 0,
    maxLogBytes: null,
    computers: null,
    notify: null,
  });
  assert.equal(b?.idleTimeoutSeconds, 600);
  assert.deepEqual(b?.schedule, { kind: "at", times: ["09:00", "17:30"], weekdays: [0, 2] });
  assert.equal(b?.type, "agent");
  assert.ok(
    b?.type === "agent" && b.agent === "claude" && b.thinkingMode === "fast" && b.role === "admin",
  );
  assert.deepEqual(c?.schedule, { kind: "weekly", weekday: 4, hour: 7 });
  assert.ok(
    c?.type === "agent" && c.agent === "codex" && c.role === "member" && c.timeoutSeconds === 60,
  );
  assert.deepEqual(d?.schedule, { kind: "monthly", day: 31, hour: 6 });
  assert.deepEqual(d?.type === "script" && d.command, ["x.py", "--y"]);
  assert.deepEqual(e?.schedule, { kind: "hourly" });
  // The seed's fallback: no schedule at all means daily at preferred_hour.
  assert.deepEqual(f?.schedule, { kind: "daily", hour: 6 });
});

Deno.test("parseConfig() accepts a config with no jobs", () => {
  assert.deepEqual(parseConfig("other: 1\n", source).jobs, []);
  assert.deepEqual(parseConfig("jobs:\n", source).jobs, []);
  assert.deepEqual(parseConfig("", source).jobs, []);
});

Deno.test("parseConfig() reports YAML syntax errors with line and column", () => {
  const [problem] = problemsOf("jobs:\n  a:\n    script: [unclosed\n");
  assert.match(problem!, /^teleclaude\.yml:\d+:\d+: YAML syntax error/);
  const [duplicate] = problemsOf("jobs:\n  a: {script: x}\n  a: {script: y}\n");
  assert.match(duplicate!, /^teleclaude\.yml:3:3: YAML syntax error: Map keys must be unique/);
});

Deno.test("parseConfig() names file, line, job, field and the bad value for each mistake", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "bad duration",
      "jobs:\n  nightly:\n    script: x\n    when:\n      every: 10x\n",
      /^teleclaude\.yml:5:14: jobs\.nightly\.when\.every: "10x" is not a duration \(use 10m, 2h or 1d\)$/,
    ],
    [
      "zero duration",
      "jobs:\n  n:\n    script: x\n    when: { every: 0m }\n",
      /jobs\.n\.when\.every: "0m" is not a duration/,
    ],
    [
      "bad time",
      'jobs:\n  n:\n    script: x\n    when: { at: ["09:00", "25:00"] }\n',
      /:4:27: jobs\.n\.when\.at\.1: "25:00" is not a time of day/,
    ],
    [
      "every and at",
      'jobs:\n  n:\n    script: x\n    when: { every: 5m, at: "09:00" }\n',
      /jobs\.n\.when: has both every and at/,
    ],
    [
      "weekdays with every",
      "jobs:\n  n:\n    script: x\n    when: { every: 5m, weekdays: [mon] }\n",
      /jobs\.n\.when\.weekdays: only goes with at/,
    ],
    [
      "bad weekday",
      'jobs:\n  n:\n    script: x\n    when: { at: "09:00", weekdays: [monday] }\n',
      /jobs\.n\.when\.weekdays\.0: "monday" is not one of mon, tue/,
    ],
    [
      "empty when",
      "jobs:\n  n:\n    script: x\n    when: {}\n",
      /jobs\.n\.when: needs every .* or at/,
    ],
    [
      "unknown agent",
      "jobs:\n  n:\n    job: n\n    agent: codexx\n",
      /:4:12: jobs\.n\.agent: "codexx" is not one of claude, codex, gemini$/,
    ],
    [
      "bad hour",
      "jobs:\n  n:\n    job: n\n    preferred_hour: 24\n",
      /jobs\.n\.preferred_hour: 24 is too large \(maximum 23\)/,
    ],
    [
      "bad timeout",
      "jobs:\n  n:\n    job: n\n    timeout: 1.5\n",
      /jobs\.n\.timeout: must be a whole number, got 1.5/,
    ],
    [
      "string timeout",
      "jobs:\n  n:\n    job: n\n    timeout: 30m\n",
      /jobs\.n\.timeout: must be a number, got "30m"/,
    ],
    [
      "deep for claude",
      "jobs:\n  n:\n    job: n\n    thinking_mode: deep\n",
      /jobs\.n\.thinking_mode: claude has no model for "deep" \(use fast, med, slow/,
    ],
    ["neither", "jobs:\n  n:\n    when: { every: 5m }\n", /jobs\.n: needs script: .* or job:/],
    ["both", "jobs:\n  n:\n    job: n\n    script: x\n", /jobs\.n: has both script and job/],
    [
      "type disagrees",
      "jobs:\n  n:\n    type: agent\n    script: x\n",
      /jobs\.n\.type: is "agent" but the job has script:/,
    ],
    [
      "message",
      "jobs:\n  n:\n    message: do the thing\n",
      /:3:5: jobs\.n\.message: "message" is no longer supported: .* set job: <name>/,
    ],
    [
      "job name",
      "jobs:\n  Nightly Job:\n    script: x\n",
      /:2:3: jobs\.Nightly Job: job name "Nightly Job" may use only a-z, 0-9, _ and -/,
    ],
    [
      "jobs not a map",
      "jobs: [a, b]\n",
      /:1:7: jobs: must be a mapping of job name to job, got a list/,
    ],
    ["job not a map", "jobs:\n  n: 5\n", /jobs\.n: must be a mapping of job fields, got 5/],
  ];
  for (const [name, yaml, expected] of cases) {
    await t.step(name, () => {
      const problems = problemsOf(yaml);
      assert.ok(
        problems.some((line) => expected.test(line)),
        `${problems.join("\n")}\n  does not match ${expected}`,
      );
    });
  }
});

Deno.test("parseConfig() reports every bad job, not only the first", () => {
  const problems = problemsOf(
    "jobs:\n  a: { script: x, when: { every: x } }\n  b: { job: b, agent: nope }\n",
  );
  assert.equal(problems.length, 2);
});

Deno.test("parseConfig() refuses a near miss of a known key at its place, and warns of an unrelated one", () => {
  assert.deepEqual(
    problemsOf("jobs:\n  n:\n    script: x\n    scheduel: hourly\n    owner: ops\n"),
    [
      "teleclaude.yml:4:5: jobs.n.scheduel: unknown key (did you mean schedule?): " +
      "the job would run as if it were not there",
    ],
  );
  assert.deepEqual(problemsOf("jobs:\n  n: { script: x, timout: 60 }\n"), [
    "teleclaude.yml:2:19: jobs.n.timout: unknown key (did you mean timeout?): the job " +
    "would run as if it were not there",
  ]);
  const config = parseConfig("jobs:\n  n:\n    script: x\n    owner: ops\n", source);
  assert.equal(config.jobs.length, 1);
  assert.deepEqual(
    config.warnings.map((warning) => `${warning.line}:${warning.field}: ${warning.message}`),
    ["4:jobs.n.owner: unknown key ignored (it may belong to another component)"],
  );
});

Deno.test("parseConfig(): when takes precedence over the legacy schedule, with a warning", () => {
  const config = parseConfig(
    "jobs:\n  n: { script: x, schedule: daily, when: { every: 1h } }\n",
    source,
  );
  assert.deepEqual(config.jobs[0]?.schedule, { kind: "every", minutes: 60 });
  assert.match(config.warnings[0]?.message ?? "", /ignored: when takes precedence/);
});

Deno.test("parseConfig() reads agent overrides, and a model override enables a thinking mode", () => {
  const config = parseConfig(
    "agents:\n  claude: { binary: /opt/claude, models: { deep: opus-deep }, other: 1 }\n  unknown_agent: {}\njobs:\n  n: { job: n, thinking_mode: deep }\n",
    source,
  );
  assert.deepEqual(config.agents, {
    claude: { binary: "/opt/claude", models: { deep: "opus-deep" } },
  });
  assert.ok(config.jobs[0]?.type === "agent" && config.jobs[0].thinkingMode === "deep");
});

Deno.test("splitCommand() splits on blanks and keeps quoted words whole", () => {
  assert.deepEqual(splitCommand(`a.sh -x "b c" 'd e' f`), ["a.sh", "-x", "b c", "d e", "f"]);
});
