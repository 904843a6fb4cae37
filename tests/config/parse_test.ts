import assert from "node:assert/strict";
import { splitCommand } from "../../lib/config/job.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { problemsOf, source } from "../helpers/config.ts";

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
    enabled: true,
    jitterMinutes: 0,
    // Script jobs are not retried unless their retry: says so.
    retry: { attempts: 1, backoffMinutes: 10, on: ["unavailable", "idle"], tell: "last" },
  });
  assert.equal(b?.idleTimeoutSeconds, 600);
  assert.deepEqual(b?.retry, {
    attempts: 3,
    backoffMinutes: 10,
    on: ["unavailable", "idle"],
    tell: "last",
  });
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

Deno.test("parseConfig() reads enabled, jitter and retry, with their defaults", () => {
  const config = parseConfig(
    `cron:
  jitter: 20m
jobs:
  agent: { job: a }
  script: { script: x, when: { every: 1h } }
  own: { script: x, jitter: 45m, enabled: false, retry: { on: [failed, timed_out], attempts: 5, backoff: 2h, tell: first } }
  none: { job: a, jitter: 0, retry: false }
  discovered_like: { job: a, when: { at: ["08:00", "08:30"] }, jitter: 0m }
`,
    source,
  );
  const byName = Object.fromEntries(config.jobs.map((job) => [job.name, job]));
  // The runner-wide jitter is every job's that has none of its own; it is not kept in cron.
  assert.deepEqual(
    config.jobs.map((job) => [job.name, job.enabled, job.jitterMinutes]),
    [
      ["agent", true, 20],
      ["script", true, 20],
      ["own", false, 45],
      ["none", true, 0],
      ["discovered_like", true, 0],
    ],
  );
  assert.equal("jitterMinutes" in config.cron, false);
  assert.deepEqual(byName.agent!.retry, {
    attempts: 3,
    backoffMinutes: 10,
    on: ["unavailable", "idle"],
    tell: "last",
  });
  assert.equal(byName.script!.retry.attempts, 1);
  assert.deepEqual(byName.own!.retry, {
    attempts: 5,
    backoffMinutes: 120,
    on: ["failed", "timed_out"],
    tell: "first",
  });
  assert.equal(byName.none!.retry.attempts, 1);
});

Deno.test("parseConfig() names the place of each bad enabled, jitter and retry", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "enabled not a boolean",
      "jobs:\n  n:\n    script: x\n    enabled: no\n",
      /^teleclaude\.yml:4:14: jobs\.n\.enabled: must be a boolean, got "no"$/,
    ],
    [
      "bad jitter",
      "jobs:\n  n:\n    script: x\n    jitter: 10x\n",
      /:4:13: jobs\.n\.jitter: "10x" is not a duration \(use 10m, 2h, or 0 for none\)$/,
    ],
    [
      "jitter without a unit",
      "jobs:\n  n:\n    script: x\n    jitter: 10\n",
      /jobs\.n\.jitter: 10 is not a duration/,
    ],
    [
      "jitter not less than the period",
      "jobs:\n  n:\n    script: x\n    when: { every: 10m }\n    jitter: 10m\n",
      /:5:13: jobs\.n\.jitter: "10m" is not less than the job's period \(every 10m: 10m between runs\)/,
    ],
    [
      "jitter past the gap between two at times",
      'jobs:\n  n:\n    script: x\n    when: { at: ["08:00", "09:00"] }\n    jitter: 2h\n',
      /jobs\.n\.jitter: "2h" is not less than the job's period \(at 08:00,09:00: 1h between runs\)/,
    ],
    [
      "the runner's jitter not less than a job's period",
      "cron:\n  jitter: 30m\njobs:\n  poll:\n    script: x\n    when: { every: 15m }\n",
      /:4:3: jobs\.poll: cron\.jitter 30m is not less than this job's period \(every 15m: 15m between runs\): give the job a jitter of its own \(jitter: 0 for none\)/,
    ],
    [
      "bad cron jitter",
      "cron:\n  jitter: soon\njobs: {}\n",
      /:2:11: cron\.jitter: "soon" is not a duration/,
    ],
    [
      "attempts too few",
      "jobs:\n  n:\n    job: n\n    retry: { attempts: 0 }\n",
      /:4:24: jobs\.n\.retry\.attempts: 0 is too small \(minimum 1\)/,
    ],
    [
      "attempts too many",
      "jobs:\n  n:\n    job: n\n    retry: { attempts: 11 }\n",
      /jobs\.n\.retry\.attempts: 11 is too large \(maximum 10\)/,
    ],
    [
      "bad backoff",
      "jobs:\n  n:\n    job: n\n    retry: { backoff: 10 minutes }\n",
      /:4:23: jobs\.n\.retry\.backoff: "10 minutes" is not a duration from 1m to 1d/,
    ],
    [
      "backoff too long",
      "jobs:\n  n:\n    job: n\n    retry: { backoff: 2d }\n",
      /jobs\.n\.retry\.backoff: "2d" is not a duration from 1m to 1d/,
    ],
    [
      "a usage limit is never retried",
      "jobs:\n  n:\n    job: n\n    retry: { on: [unavailable, usage_limit] }\n",
      /:4:32: jobs\.n\.retry\.on\.1: usage_limit is never retried: a usage limit defers the agent's jobs until its reset instead/,
    ],
    [
      "auth is never retried",
      "jobs:\n  n:\n    job: n\n    retry: { on: [auth] }\n",
      /jobs\.n\.retry\.on\.0: auth is never retried: no retry helps until a person logs in/,
    ],
    [
      "an unknown outcome",
      "jobs:\n  n:\n    job: n\n    retry: { on: [flaky] }\n",
      /jobs\.n\.retry\.on\.0: "flaky" is not one of unavailable, idle, failed, timed_out/,
    ],
    [
      "unavailable on a script job",
      "jobs:\n  n:\n    script: x\n    retry: { on: [failed, unavailable] }\n",
      /jobs\.n\.retry\.on\.1: a script job is never unavailable/,
    ],
    [
      "an outcome named like a property of every object",
      "jobs:\n  n:\n    job: n\n    retry: { on: [toString, constructor] }\n",
      /jobs\.n\.retry\.on\.0: "toString" is not one of unavailable, idle, failed, timed_out/,
    ],
    [
      "an unknown retry key",
      "jobs:\n  n:\n    job: n\n    retry: { tries: 3 }\n",
      /jobs\.n\.retry\.tries: unknown key \(allowed: attempts, backoff, on, tell\)/,
    ],
    [
      "bad tell",
      "jobs:\n  n:\n    job: n\n    retry: { tell: every }\n",
      /jobs\.n\.retry\.tell: "every" is not one of first, last/,
    ],
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

Deno.test("splitCommand() splits on blanks and keeps quoted words whole", () => {
  assert.deepEqual(splitCommand(`a.sh -x "b c" 'd e' f`), ["a.sh", "-x", "b c", "d e", "f"]);
});

Deno.test("parseConfig() retries a script that asks for it on what a script can end in", () => {
  const config = parseConfig(
    "jobs:\n  a: { script: x, retry: { attempts: 2 } }\n  b: { script: x, retry: true }\n" +
      "  c: { script: x }\n  d: { job: d, retry: true }\n",
    { displayName: "t.yml", file: "/p/t.yml" },
  );
  const retry = Object.fromEntries(config.jobs.map((job) => [job.name, job.retry]));
  assert.deepEqual(retry.a, {
    attempts: 2,
    backoffMinutes: 10,
    on: ["failed", "timed_out", "idle"],
    tell: "last",
  });
  assert.deepEqual(retry.b, {
    attempts: 3,
    backoffMinutes: 10,
    on: ["failed", "timed_out", "idle"],
    tell: "last",
  });
  assert.equal(retry.c!.attempts, 1, "a script that says nothing is not retried");
  assert.deepEqual(retry.d!.on, ["unavailable", "idle"]);
});

Deno.test("parseConfig() reads how many jobs run at once, runner-wide and per agent", () => {
  const config = parseConfig(
    "cron:\n  concurrency: 4\nagents:\n  claude: { concurrency: 2 }\n  codex: { binary: /x }\njobs:\n  a: { job: a }\n",
    source,
  );
  assert.equal(config.cron.concurrency, 4);
  assert.equal(config.agents.claude?.concurrency, 2);
  assert.equal(config.agents.codex?.concurrency, undefined);
  // Neither said: one job at a time, as ever.
  const plain = parseConfig("jobs:\n  a: { job: a }\n", source);
  assert.equal("concurrency" in plain.cron, false);
});

Deno.test("parseConfig() names the place of a concurrency that is not a count of lanes", () => {
  const cases: [string, RegExp][] = [
    [
      "cron:\n  concurrency: 0\n",
      /^teleclaude\.yml:2:16: cron\.concurrency: 0 is too small \(minimum 1\)$/,
    ],
    ["cron:\n  concurrency: 65\n", /:2:16: cron\.concurrency: 65 is too large \(maximum 64\)$/],
    ["cron:\n  concurrency: two\n", /:2:16: cron\.concurrency: must be a number, got "two"$/],
    [
      "agents:\n  gemini:\n    concurrency: 1.5\n",
      /^teleclaude\.yml:3:18: agents\.gemini\.concurrency: must be a whole number, got 1\.5$/,
    ],
  ];
  for (const [yaml, expected] of cases) {
    const problems = problemsOf(`${yaml}jobs:\n  a: { script: x }\n`);
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, expected);
  }
});
