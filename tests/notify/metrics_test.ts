/**
 * The metrics file, checked by real Prometheus text-format parsers: every value is read back
 * with `parse-prometheus-text-format` and compared with the state it came from, and the text
 * goes through `promtool check metrics` (the strict parser and linter Prometheus ships) wherever
 * promtool is found. `.ci/run` provides promtool, so in CI that check always runs.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import type { Config, Job } from "../../lib/config/job.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { StoreError } from "../../lib/errors.ts";
import {
  escapeHelp,
  escapeLabelValue,
  renderMetrics,
  writeMetrics,
} from "../../lib/notify/metrics.ts";
import { recordResult } from "../../lib/run/record.ts";
import { LONE_ATTEMPT } from "../../lib/run/retry.ts";
import { type JobResult, jobResult } from "../../lib/process/result.ts";
import {
  type CronState,
  emptyState,
  OUTCOMES,
  parseState,
  readState,
  saveState,
} from "../../lib/store/state.ts";
import { findProgram, isExecutableFile } from "../../lib/subprocess.ts";
import {
  makeSandbox,
  ROOT,
  runCli,
  type Sandbox,
  writeConfig,
  writeFile,
} from "../helpers/sandbox.ts";

/** One sample as read back: labels decoded, value a number. */
interface ReadSample {
  labels: Record<string, string>;
  value: number;
}

/** One family as read back. */
interface ReadFamily {
  type: string;
  help: string;
  samples: ReadSample[];
}

/** The text as a Prometheus parser reads it, by family name; each family must appear once. */
function decode(text: string): Map<string, ReadFamily> {
  // The parser silently drops a last line without its newline: the format requires one.
  assert.ok(text.endsWith("\n"), "the text ends with a newline");
  const families = new Map<string, ReadFamily>();
  const parsed = parsePrometheusTextFormat(text) as {
    name: string;
    help: string;
    type: string;
    metrics: { value: string; labels?: Record<string, string> }[];
  }[];
  for (const family of parsed) {
    assert.ok(!families.has(family.name), `${family.name} appears once`);
    families.set(family.name, {
      type: family.type,
      help: family.help,
      samples: family.metrics.map((metric) => ({
        labels: metric.labels ?? {},
        value: Number(metric.value),
      })),
    });
  }
  return families;
}

/** The value of the one sample of `name` with exactly `labels`; undefined when there is none. */
function valueOf(
  families: Map<string, ReadFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matches = (families.get(name)?.samples ?? []).filter((sample) =>
    JSON.stringify(Object.entries(sample.labels).sort()) ===
      JSON.stringify(Object.entries(labels).sort())
  );
  assert.ok(matches.length <= 1, `one sample of ${name} ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}

/** The job names that have a sample of `name`. */
function jobsIn(families: Map<string, ReadFamily>, name: string): string[] {
  return [...new Set(families.get(name)?.samples.map((sample) => sample.labels.cron_job!))];
}

const CONFIG_YAML = `jobs:
  nightly:
    job: nightly_report
    agent: claude
    when: { at: "03:00" }
  digest:
    job: digest
    agent: codex
    when: { every: 1h }
  poll:
    script: jobs/poll.sh
    when: { every: 10m }
  never_ran:
    script: jobs/never.sh
    when: { every: 1d }
cron:
  metrics_file: ~/.teleclaude/metrics/cron.prom
`;

/** A config as the runner gets it, parsed from YAML text. */
function configFor(text: string, home = "/home/someone"): Config {
  return parseConfig(text, {
    displayName: "teleclaude.yml",
    file: "/home/someone/project/teleclaude.yml",
    home,
  });
}

const jobNamed = (config: Config, name: string): Job =>
  config.jobs.find((job) => job.name === name)!;

const T0 = Date.UTC(2025, 5, 1, 3, 0, 0, 250);
const HOUR = 3600_000;

/** An error as agents write them: quotes, a backslash, a second line. */
const AWKWARD_ERROR = 'tool "Bash" failed: C:\\temp\\x not found\nsecond line of the error';

/**
 * The state the runner would have recorded (its own `recordResult`): nightly succeeded, then
 * failed twice; digest hit a usage limit (codex held back); poll succeeded three times; never_ran
 * never ran; retired has an entry but is no longer configured.
 */
function realisticState(config: Config): CronState {
  const state = emptyState();
  const run = (name: string, at: number, result: Partial<JobResult>) =>
    recordResult(
      state,
      name === "retired" ? { ...jobNamed(config, "poll"), name } : jobNamed(config, name),
      new Date(at).toISOString(),
      null,
      jobResult(result),
      at + (result.durationMs ?? 0),
      LONE_ATTEMPT,
      "UTC",
    );
  const claudeUsage = { cost_usd: 0.25, input_tokens: 200, output_tokens: 40 };
  run("nightly", T0, { outcome: "success", durationMs: 61_500, usage: claudeUsage });
  run("nightly", T0 + 24 * HOUR, {
    outcome: "failed",
    exitCode: 1,
    error: AWKWARD_ERROR,
    usage: { ...claudeUsage, cost_usd: 0.5 },
  });
  run("nightly", T0 + 48 * HOUR, {
    outcome: "timed_out",
    durationMs: 1_800_000,
    error: "timed out",
  });
  run("digest", T0 + HOUR, {
    outcome: "usage_limit",
    resetsAt: T0 + 6 * HOUR,
    durationMs: 900,
    usage: { input_tokens: 2400, output_tokens: 68 },
  });
  for (const hours of [1, 2, 3]) {
    run("poll", T0 + hours * HOUR, { outcome: "success", durationMs: 40 });
  }
  run("retired", T0, { outcome: "failed", error: "gone" });
  return state;
}

/** The state as a later tick reads it: saved and read back from a real file. */
function savedAndRead(sandbox: Sandbox, state: CronState): CronState {
  const path = join(sandbox.home, ".teleclaude/cron_state.json");
  saveState(path, state);
  const read = readState(path);
  assert.equal(read.kind, "ok");
  return read.state;
}

const TICK = "teleclaude_cron_last_tick_timestamp_seconds";
const LAST_RUN = "teleclaude_cron_job_last_run_timestamp_seconds";
const LAST_SUCCESS = "teleclaude_cron_job_last_success_timestamp_seconds";
const DURATION = "teleclaude_cron_job_last_duration_seconds";
const LAST_OUTCOME = "teleclaude_cron_job_last_outcome";
const RUNS = "teleclaude_cron_job_runs_total";
const FAILURES = "teleclaude_cron_job_consecutive_failures";
const DEFERRED = "teleclaude_cron_agent_deferred_until_timestamp_seconds";
const RETRIES = "teleclaude_cron_job_retries_total";
const RETRY_DUE = "teleclaude_cron_job_retry_due_timestamp_seconds";
const PAUSED = "teleclaude_cron_job_paused";
const COST = "teleclaude_cron_job_cost_usd_total";
const TOKENS = "teleclaude_cron_job_tokens_total";
const RUNNING = "teleclaude_cron_running_jobs";

/** Epoch seconds of a state timestamp. */
const seconds = (iso: string | null | undefined) => Date.parse(iso!) / 1000;

const TICK_AT = T0 + 49 * HOUR + 1234;

/** The realistic state as a later tick reads it, and its metrics as a Prometheus parser reads them. */
async function realisticMetrics(): Promise<{
  config: Config;
  state: CronState;
  families: Map<string, ReadFamily>;
}> {
  await using sandbox = await makeSandbox();
  const config = configFor(CONFIG_YAML);
  const state = savedAndRead(sandbox, realisticState(config));
  return { config, state, families: decode(renderMetrics(config, state, TICK_AT)) };
}

Deno.test("renderMetrics() times, read by a Prometheus parser, are the state's", async (t) => {
  const { state, families } = await realisticMetrics();
  const entry = (name: string) => state.jobs[name]!;

  await t.step("the tick, in seconds", () => {
    assert.equal(valueOf(families, TICK), TICK_AT / 1000);
  });
  await t.step("last run, last success and duration: the state's, in seconds", () => {
    for (const name of ["nightly", "digest", "poll"]) {
      assert.equal(valueOf(families, LAST_RUN, { cron_job: name }), seconds(entry(name).last_run));
      assert.equal(
        valueOf(families, DURATION, { cron_job: name }),
        entry(name).duration_ms! / 1000,
      );
    }
    assert.equal(valueOf(families, LAST_RUN, { cron_job: "nightly" }), (T0 + 48 * HOUR) / 1000);
    assert.equal(valueOf(families, DURATION, { cron_job: "nightly" }), 1800);
    for (const name of ["nightly", "poll"]) {
      const success = valueOf(families, LAST_SUCCESS, { cron_job: name });
      assert.equal(success, seconds(entry(name).last_success));
    }
    assert.equal(valueOf(families, LAST_SUCCESS, { cron_job: "nightly" }), T0 / 1000);
    // digest never succeeded: no sample, rather than a 1970 one.
    assert.deepEqual(jobsIn(families, LAST_SUCCESS), ["nightly", "poll"]);
  });
  await t.step("an agent held back: until the back-off's instant, in seconds", () => {
    assert.equal(
      valueOf(families, DEFERRED, { agent: "codex" }),
      seconds(state.agent_backoff!.codex!.until),
    );
    assert.equal(valueOf(families, DEFERRED, { agent: "codex" }), (T0 + 6 * HOUR) / 1000);
    assert.deepEqual(families.get(DEFERRED)!.samples.length, 1);
  });
});

Deno.test("renderMetrics() outcomes and counts, read by a Prometheus parser, are the state's", async (t) => {
  const { config, state, families } = await realisticMetrics();
  const entry = (name: string) => state.jobs[name]!;

  await t.step("last outcome: a series per outcome, 1 for the state's and 0 for the rest", () => {
    for (const name of ["nightly", "digest", "poll"]) {
      const samples = families.get(LAST_OUTCOME)!.samples.filter((sample) =>
        sample.labels.cron_job === name
      );
      assert.deepEqual(samples.map((sample) => sample.labels.outcome), [...OUTCOMES]);
      const lit = samples.filter((sample) => sample.value === 1).map((sample) =>
        sample.labels.outcome
      );
      assert.deepEqual(lit, [entry(name).outcome]);
      assert.ok(samples.every((sample) => sample.value === 0 || sample.value === 1));
    }
    assert.equal(valueOf(families, LAST_OUTCOME, { cron_job: "nightly", outcome: "timed_out" }), 1);
  });
  await t.step("runs: the state's counts by outcome, 0 for an outcome never seen", () => {
    for (const job of config.jobs) {
      for (const outcome of OUTCOMES) {
        const counted = state.jobs[job.name]?.runs?.[outcome] ?? 0;
        assert.equal(valueOf(families, RUNS, { cron_job: job.name, outcome }), counted);
      }
    }
    assert.deepEqual(entry("nightly").runs, { success: 1, failed: 1, timed_out: 1 });
    assert.equal(valueOf(families, RUNS, { cron_job: "poll", outcome: "success" }), 3);
  });
  await t.step("consecutive failures: the state's (a usage limit is not one)", () => {
    for (const job of config.jobs) {
      const failures = state.jobs[job.name]?.failures ?? 0;
      assert.equal(valueOf(families, FAILURES, { cron_job: job.name }), failures);
    }
    assert.equal(valueOf(families, FAILURES, { cron_job: "nightly" }), 2);
    assert.equal(valueOf(families, FAILURES, { cron_job: "digest" }), 0);
  });
  await t.step("every family has its HELP and TYPE; runs, retries and spend are counters", () => {
    assert.deepEqual([...families.keys()], [
      TICK,
      RUNNING,
      LAST_RUN,
      LAST_SUCCESS,
      DURATION,
      LAST_OUTCOME,
      RUNS,
      FAILURES,
      RETRIES,
      COST,
      TOKENS,
      PAUSED,
      DEFERRED,
    ]);
    const counters = [RUNS, RETRIES, COST, TOKENS];
    for (const [name, family] of families) {
      assert.ok(family.help.length > 0, name);
      assert.equal(family.type, counters.includes(name) ? "COUNTER" : "GAUGE", name);
    }
  });
});

Deno.test("renderMetrics() counts retries, says when the next attempt is due and which jobs are paused", () => {
  const config = configFor(`jobs:
  nightly: { job: nightly_report, when: { at: "03:00" } }
  held: { script: jobs/held.sh, enabled: false }
`);
  const nightly = jobNamed(config, "nightly");
  const state = emptyState();
  const unavailable = jobResult({ outcome: "unavailable", error: "529 Overloaded" });
  const retryAt = T0 + 11 * 60_000;
  const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
  recordResult(state, nightly, at(0), null, unavailable, T0 + 60_000, {
    number: 1,
    of: 3,
    next: { attempt: 2, at: retryAt },
  }, "UTC");
  let families = decode(renderMetrics(config, state, T0 + 2 * 60_000));
  assert.equal(valueOf(families, RETRIES, { cron_job: "nightly" }), 0);
  assert.equal(valueOf(families, RETRY_DUE, { cron_job: "nightly" }), retryAt / 1000);
  assert.deepEqual(jobsIn(families, RETRY_DUE), ["nightly"]);
  assert.equal(valueOf(families, PAUSED, { cron_job: "nightly" }), 0);
  assert.equal(valueOf(families, PAUSED, { cron_job: "held" }), 1);
  // The retry succeeds: counted, and nothing is due any more.
  recordResult(state, nightly, at(11), null, jobResult({ outcome: "success" }), retryAt, {
    number: 2,
    of: 3,
    next: null,
  }, "UTC");
  families = decode(renderMetrics(config, state, T0 + 12 * 60_000));
  assert.equal(valueOf(families, RETRIES, { cron_job: "nightly" }), 1);
  assert.equal(families.get(RETRIES)!.type, "COUNTER");
  assert.equal(families.has(RETRY_DUE), false);
});

Deno.test("renderMetrics() counts what each job's runs spent per agent, from the state a restart keeps", async () => {
  const { config, families } = await realisticMetrics();
  // nightly's two runs that reported a cost ($0.25 and $0.50, 240 tokens each), a third that did not.
  assert.equal(valueOf(families, COST, { cron_job: "nightly", agent: "claude" }), 0.75);
  assert.equal(valueOf(families, TOKENS, { cron_job: "nightly", agent: "claude" }), 480);
  // codex reports tokens only; a usage limit's run spent them all the same.
  assert.equal(valueOf(families, TOKENS, { cron_job: "digest", agent: "codex" }), 2468);
  assert.equal(valueOf(families, COST, { cron_job: "digest", agent: "codex" }), undefined);
  assert.deepEqual(jobsIn(families, COST), ["nightly"]);
  assert.deepEqual(jobsIn(families, TOKENS), ["nightly", "digest"]);
  // A job that ran with claude and now runs with codex keeps claude's counters beside codex's 0.
  await using sandbox = await makeSandbox();
  const state = realisticState(config);
  const moved = {
    ...config,
    jobs: config.jobs.map((job) =>
      job.name === "nightly" ? { ...job, agent: "codex" as const } : job
    ),
  };
  const again = decode(renderMetrics(moved, savedAndRead(sandbox, state), TICK_AT));
  assert.equal(valueOf(again, COST, { cron_job: "nightly", agent: "claude" }), 0.75);
  assert.equal(valueOf(again, TOKENS, { cron_job: "nightly", agent: "claude" }), 480);
  assert.equal(valueOf(again, TOKENS, { cron_job: "nightly", agent: "codex" }), 0);
});

Deno.test("renderMetrics() counts the jobs running now: each running record in the state", () => {
  const config = configFor(CONFIG_YAML);
  const state = realisticState(config);
  const running = (job: string, pgid: number) => {
    state.jobs[job]!.running = {
      started: new Date(T0).toISOString(),
      pgid,
      runner_pid: 4000,
    };
  };
  assert.equal(valueOf(decode(renderMetrics(config, state, T0)), RUNNING, {}), 0);
  running("nightly", 4001);
  running("digest", 4002);
  const families = decode(renderMetrics(config, state, T0));
  assert.equal(valueOf(families, RUNNING, {}), 2);
  assert.equal(families.get(RUNNING)!.type, "GAUGE");
});

Deno.test("renderMetrics() leaves out removed jobs, and a never-run job's times", () => {
  const config = configFor(CONFIG_YAML);
  const state = realisticState(config);
  assert.ok(state.jobs.retired, "the state keeps an entry of a job no longer configured");
  const families = decode(renderMetrics(config, state, T0 + 49 * HOUR));
  for (const [name, family] of families) {
    if (name === TICK || name === RUNNING || name === DEFERRED) continue;
    assert.ok(!jobsIn(families, name).includes("retired"), `${name} has no removed job`);
    const neverRan = family.samples.filter((sample) => sample.labels.cron_job === "never_ran");
    if (name === RUNS || name === FAILURES || name === RETRIES || name === PAUSED) {
      assert.ok(neverRan.length > 0 && neverRan.every((sample) => sample.value === 0), name);
    } else {
      // A script job that never ran spent nothing with any agent: it has no spend series either.
      assert.deepEqual(neverRan, [], `${name} has no sample of a job that never ran`);
    }
  }
  // The jobs in the config's order.
  assert.deepEqual(jobsIn(families, FAILURES), ["nightly", "digest", "poll", "never_ran"]);
});

Deno.test("renderMetrics() of an empty state: the tick, and zeros for each configured job", () => {
  const config = configFor(CONFIG_YAML);
  const text = renderMetrics(config, emptyState(), T0);
  const families = decode(text);
  assert.deepEqual([...families.keys()], [
    TICK,
    RUNNING,
    RUNS,
    FAILURES,
    RETRIES,
    COST,
    TOKENS,
    PAUSED,
  ]);
  assert.equal(valueOf(families, RUNNING, {}), 0);
  assert.equal(families.get(RUNS)!.samples.length, config.jobs.length * OUTCOMES.length);
  // A family without samples is left out whole, HELP and TYPE included.
  assert.doesNotMatch(text, /last_success/);
});

Deno.test("renderMetrics() reads entries the Python original wrote: the status stands for the outcome", async () => {
  const { state } = parseState(
    await Deno.readTextFile(new URL("../testdata/python_state.json", import.meta.url)),
  );
  const config = configFor(`jobs:
  next_prepare_draft: { script: jobs/a.sh }
  old_naive_job: { script: jobs/b.sh }
  never_job: { script: jobs/c.sh }
`);
  const families = decode(renderMetrics(config, state, T0));
  const lit = families.get(LAST_OUTCOME)!.samples.filter((sample) => sample.value === 1);
  assert.deepEqual(lit.map((sample) => sample.labels), [
    { cron_job: "next_prepare_draft", outcome: "success" },
    { cron_job: "old_naive_job", outcome: "failed" },
  ]);
  // A naive timestamp is UTC, as the state module reads it.
  assert.equal(
    valueOf(families, LAST_RUN, { cron_job: "old_naive_job" }),
    Date.UTC(2025, 4, 1, 6, 0, 0, 500) / 1000,
  );
  assert.deepEqual(jobsIn(families, LAST_RUN), ["next_prepare_draft", "old_naive_job"]);
  // No last_success field: a last run that succeeded is the last success (no "never succeeded"
  // alert after an upgrade); a failed one says nothing.
  assert.deepEqual(jobsIn(families, LAST_SUCCESS), ["next_prepare_draft"]);
  assert.equal(
    valueOf(families, LAST_SUCCESS, { cron_job: "next_prepare_draft" }),
    valueOf(families, LAST_RUN, { cron_job: "next_prepare_draft" }),
  );
});

Deno.test("renderMetrics() keeps the count of an outcome it does not know", () => {
  const state = emptyState();
  state.jobs.poll = { last_run: null, last_status: "never", last_error: null };
  state.jobs.poll.runs = { success: 2, "older kind": 1 };
  const families = decode(renderMetrics(configFor(CONFIG_YAML), state, T0));
  assert.equal(valueOf(families, RUNS, { cron_job: "poll", outcome: "success" }), 2);
  assert.equal(valueOf(families, RUNS, { cron_job: "poll", outcome: "older kind" }), 1);
  assert.equal(valueOf(families, RUNS, { cron_job: "nightly", outcome: "older kind" }), undefined);
});

Deno.test("escapeLabelValue() and escapeHelp() escape what the text format 0.0.4 requires", async (t) => {
  await t.step("label values: backslash, double quote and newline", () => {
    assert.equal(escapeLabelValue('C:\\tmp say "hi"\nnext'), 'C:\\\\tmp say \\"hi\\"\\nnext');
    assert.equal(escapeLabelValue("plain-name_1"), "plain-name_1");
  });
  await t.step("HELP: backslash and newline; a quote stays plain", () => {
    assert.equal(escapeHelp('C:\\tmp say "hi"\nnext'), 'C:\\\\tmp say "hi"\\nnext');
  });
  await t.step("a label from the state file with all three reads back intact", () => {
    // Agent names in agent_backoff come from the state file, which a person may have edited.
    const agent = 'odd "agent" C:\\x\\\nline2';
    const state = emptyState();
    state.agent_backoff = { [agent]: { until: new Date(T0).toISOString(), attempts: 1 } };
    const text = renderMetrics(configFor(CONFIG_YAML), state, T0);
    assert.deepEqual(decode(text).get(DEFERRED)!.samples, [{
      labels: { agent },
      value: T0 / 1000,
    }]);
    for (const line of text.trimEnd().split("\n")) {
      assert.match(line, /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{.*\})? [-+.e\d]+)$/);
    }
  });
  await t.step("error text is not exported: no label is unbounded free text", () => {
    const config = configFor(CONFIG_YAML);
    const text = renderMetrics(config, realisticState(config), T0);
    assert.ok(!text.includes("second line of the error") && !text.includes("Bash"));
  });
});

/**
 * promtool: on PATH, else where `.ci/run` unpacks it. Null when neither has it: the strict check
 * is then ignored, and says so in its name.
 */
function findPromtool(): string | null {
  const onPath = findProgram("promtool", Deno.env.get("PATH") ?? "");
  if (onPath) return onPath;
  const home = Deno.env.get("HOME");
  const cache = Deno.env.get("XDG_CACHE_HOME") || (home ? join(home, ".cache") : null);
  const cached = cache ? join(cache, "teleclaude-cron/promtool/usr/bin/promtool") : null;
  return cached && isExecutableFile(cached) ? cached : null;
}

const PROMTOOL = findPromtool();
/** What the name of a promtool test says when it is ignored. */
const NO_PROMTOOL = PROMTOOL
  ? ""
  : " (IGNORED: no promtool on PATH or in the cache; .ci/run provides it)";

/** `promtool check metrics` on `text`: exit 0 clean, 1 a parse error, 3 lint problems. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(PROMTOOL!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    output: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

Deno.test({
  name:
    "promtool check metrics finds no parse error and no lint problem in renderMetrics() output" +
    NO_PROMTOOL,
  ignore: PROMTOOL === null,
  fn: async (t) => {
    const config = configFor(CONFIG_YAML);
    await t.step("a realistic state", async () => {
      const checked = await promtoolCheck(renderMetrics(config, realisticState(config), T0));
      assert.deepEqual(checked, { code: 0, output: "" });
    });
    await t.step("a retry pending, retries counted, a paused job", async () => {
      const state = realisticState(config);
      const nightly = jobNamed(config, "nightly");
      const failed = jobResult({ outcome: "unavailable", error: "529" });
      recordResult(state, nightly, new Date(T0).toISOString(), null, failed, T0, {
        number: 2,
        of: 3,
        next: { attempt: 3, at: T0 + 20 * 60_000 },
      }, "UTC");
      const paused = { ...config, jobs: config.jobs.map((job) => ({ ...job, enabled: false })) };
      const text = renderMetrics(paused, state, T0);
      assert.match(text, /teleclaude_cron_job_retry_due_timestamp_seconds\{cron_job="nightly"\}/);
      assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
    });
    await t.step("a label with a quote, a backslash and a newline", async () => {
      const state = emptyState();
      const agent = 'odd "agent" C:\\x\\\nline2';
      state.agent_backoff = { [agent]: { until: new Date(T0).toISOString(), attempts: 1 } };
      assert.deepEqual(await promtoolCheck(renderMetrics(config, state, T0)), {
        code: 0,
        output: "",
      });
    });
    await t.step(
      "the check has teeth: a raw newline is a parse error, a bare counter a lint problem",
      async () => {
        const broken = await promtoolCheck(
          '# HELP a_total x\n# TYPE a_total counter\na_total{l="x\ny"} 1\n',
        );
        assert.equal(broken.code, 1, broken.output);
        const linted = await promtoolCheck("# TYPE a counter\na 1\n");
        assert.equal(linted.code, 3, linted.output);
      },
    );
  },
});

/** The alert rules the README gives: its YAML block that starts with `groups:`. */
async function documentedRules(): Promise<string> {
  const text = await Deno.readTextFile(join(ROOT, "README.md"));
  const block = /```yaml\n(groups:[\s\S]*?)```/.exec(text);
  assert.ok(block, "the README has a yaml block of alert rules");
  return block[1]!;
}

const NO_TICK = "TeleclaudeCronNoTick";
const NIGHTLY = "TeleclaudeCronNightlyNotSucceeded";
/** The labels Prometheus adds when it scrapes node_exporter. */
const NODE = { job: "node", instance: "mac:9100" };
const series = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.entries(labels).map(([label, value]) => `${label}="${value}"`).join(",")}}`;

/** `promtool test rules` cases: what each documented rule must do (JSON is YAML). */
const RULE_TESTS = {
  rule_files: ["rules.yml"],
  evaluation_interval: "1m",
  tests: [
    {
      // Ticks every minute for 5 min, then stops: the file keeps saying 300 s.
      interval: "1m",
      input_series: [{ series: series(TICK, NODE), values: "0+60x5 300x40" }],
      alert_rule_test: [
        { eval_time: "10m", alertname: NO_TICK, exp_alerts: [] },
        { eval_time: "25m", alertname: NO_TICK, exp_alerts: [{ exp_labels: NODE }] },
      ],
    },
    {
      // No tick metric at all.
      interval: "1m",
      input_series: [{ series: series(FAILURES, { ...NODE, cron_job: "poll" }), values: "0x10" }],
      alert_rule_test: [{ eval_time: "5m", alertname: NO_TICK, exp_alerts: [{ exp_labels: {} }] }],
    },
    {
      // nightly last succeeded at 0 s.
      interval: "1h",
      input_series: [
        { series: series(LAST_SUCCESS, { ...NODE, cron_job: "nightly" }), values: "0x30" },
      ],
      alert_rule_test: [
        { eval_time: "25h", alertname: NIGHTLY, exp_alerts: [] },
        {
          eval_time: "27h",
          alertname: NIGHTLY,
          exp_alerts: [{ exp_labels: { ...NODE, cron_job: "nightly" } }],
        },
      ],
    },
    {
      // nightly never succeeded (poll did).
      interval: "1h",
      input_series: [
        { series: series(LAST_SUCCESS, { ...NODE, cron_job: "poll" }), values: "0x30" },
      ],
      alert_rule_test: [
        {
          eval_time: "1h",
          alertname: NIGHTLY,
          exp_alerts: [{ exp_labels: { cron_job: "nightly" } }],
        },
      ],
    },
  ],
};

Deno.test({
  name: "the alert rules of the README fire as it says (promtool test rules)" + NO_PROMTOOL,
  ignore: PROMTOOL === null,
  fn: async () => {
    await using sandbox = await makeSandbox();
    const rules = await documentedRules();
    const config = configFor(CONFIG_YAML);
    const rendered = renderMetrics(config, realisticState(config), T0);
    for (const name of new Set(rules.match(/teleclaude_cron_\w+/g))) {
      assert.match(rendered, new RegExp(`^${name}[{ ]`, "m"), `the runner writes ${name}`);
    }
    await Deno.writeTextFile(join(sandbox.dir, "rules.yml"), rules);
    await Deno.writeTextFile(join(sandbox.dir, "rules_test.yml"), JSON.stringify(RULE_TESTS));
    const output = await new Deno.Command(PROMTOOL!, {
      args: ["test", "rules", "rules_test.yml"],
      cwd: sandbox.dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, text);
    assert.match(text, /SUCCESS/);
  },
});

const RUNNER_CONFIG = `jobs:
  ok_job:
    script: jobs/ok.sh
    when: { every: 10m }
  failing_job:
    script: jobs/fail.sh
    when: { every: 10m }
  idle_job:
    script: jobs/ok.sh
    when: { every: 1d }
cron:
  metrics_file: ~/.teleclaude/metrics/cron.prom
`;

Deno.test("the state the real runner recorded, rendered and written, reads back as it is", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, RUNNER_CONFIG);
  await writeFile(join(sandbox.project, "jobs/ok.sh"), "#!/bin/sh\necho fine\n", true);
  await writeFile(
    join(sandbox.project, "jobs/fail.sh"),
    `#!/bin/sh\necho 'said "no" at C:\\\\x' >&2\nexit 3\n`,
    true,
  );
  for (const job of ["ok_job", "failing_job", "failing_job"]) {
    const run = await runCli(sandbox, ["--force", "--job", job]);
    assert.equal(run.code, job === "ok_job" ? 0 : 1, run.stderr);
  }
  const root = join(sandbox.home, ".teleclaude");
  const state = readState(join(root, "cron_state.json")).state;
  const tick = JSON.parse(await Deno.readTextFile(join(root, "cron_last_tick.json")));
  // The file the runner itself wrote at the end of its last tick.
  const text = await Deno.readTextFile(join(root, "metrics/cron.prom"));
  const families = decode(text);
  const failing = state.jobs.failing_job!;
  assert.equal(failing.failures, 2);
  assert.equal(valueOf(families, FAILURES, { cron_job: "failing_job" }), 2);
  assert.equal(valueOf(families, RUNS, { cron_job: "failing_job", outcome: "failed" }), 2);
  assert.equal(valueOf(families, LAST_RUN, { cron_job: "failing_job" }), seconds(failing.last_run));
  assert.equal(
    valueOf(families, DURATION, { cron_job: "failing_job" }),
    failing.duration_ms! / 1000,
  );
  assert.equal(valueOf(families, LAST_OUTCOME, { cron_job: "failing_job", outcome: "failed" }), 1);
  const ok = state.jobs.ok_job!;
  assert.equal(valueOf(families, LAST_SUCCESS, { cron_job: "ok_job" }), seconds(ok.last_success));
  assert.equal(valueOf(families, LAST_OUTCOME, { cron_job: "ok_job", outcome: "success" }), 1);
  assert.equal(valueOf(families, LAST_RUN, { cron_job: "idle_job" }), undefined);
  // The last tick: the one that noted itself (a few ms before it read the state), not earlier.
  const tickSeconds = valueOf(families, TICK)!;
  assert.ok(tickSeconds >= Date.parse(tick.at) / 1000 && tickSeconds <= Date.now() / 1000);
  assert.equal(modeOf(join(root, "metrics/cron.prom")), 0o644);
  if (PROMTOOL) assert.deepEqual(await promtoolCheck(text), { code: 0, output: "" });
});

/** The error `write` throws; it must throw one. */
function thrown(write: () => void): unknown {
  try {
    write();
  } catch (error) {
    return error;
  }
  assert.fail("it did not throw");
}

/** The permission bits of what is at `path` (not following a link). */
const modeOf = (path: string) => Deno.lstatSync(path).mode! & 0o777;

Deno.test("writeMetrics() replaces the file whole and leaves no temp file", async (t) => {
  await using sandbox = await makeSandbox();
  const root = join(sandbox.home, ".teleclaude");
  const dir = join(root, "metrics");
  const file = join(dir, "cron.prom");

  await t.step("a new directory is 0700, the file 0644 for the collector", () => {
    writeMetrics(file, root, "first\n");
    assert.equal(Deno.readTextFileSync(file), "first\n");
    assert.equal(modeOf(dir), 0o700);
    assert.equal(modeOf(file), 0o644);
  });
  await t.step("a rewrite is a new file (a rename), with nothing left beside it", () => {
    const before = Deno.statSync(file).ino;
    writeMetrics(file, root, "second\n");
    assert.equal(Deno.readTextFileSync(file), "second\n");
    assert.notEqual(Deno.statSync(file).ino, before);
    assert.equal(modeOf(file), 0o644);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["cron.prom"]);
  });
  await t.step("a directory the user opened to the collector stays open", () => {
    Deno.chmodSync(dir, 0o755);
    writeMetrics(file, root, "third\n");
    assert.equal(modeOf(dir), 0o755);
  });
});

Deno.test("writeMetrics() never writes through a link and throws a StoreError naming the path", async (t) => {
  await using sandbox = await makeSandbox();
  const root = join(sandbox.home, ".teleclaude");
  const dir = join(root, "metrics");
  const file = join(dir, "cron.prom");
  const elsewhere = join(sandbox.dir, "precious.txt");
  Deno.writeTextFileSync(elsewhere, "precious\n");
  Deno.chmodSync(elsewhere, 0o600);

  await t.step("a link at the file: refused, its target untouched", () => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.symlinkSync(elsewhere, file);
    const error = thrown(() => writeMetrics(file, root, "x 1\n"));
    assert.ok(error instanceof StoreError);
    assert.equal(error.path, file);
    assert.match(error.message, /is a symbolic link/);
    assert.equal(Deno.readTextFileSync(elsewhere), "precious\n");
    assert.equal(modeOf(elsewhere), 0o600);
    assert.ok(Deno.lstatSync(file).isSymlink);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["cron.prom"]);
    Deno.removeSync(dir, { recursive: true });
  });
  await t.step("a link in place of the directory: refused, nothing written there", () => {
    const target = join(sandbox.dir, "other-dir");
    Deno.mkdirSync(target);
    Deno.symlinkSync(target, dir);
    const error = thrown(() => writeMetrics(file, root, "x 1\n"));
    assert.ok(error instanceof StoreError);
    assert.equal(error.path, dir);
    assert.deepEqual([...Deno.readDirSync(target)], []);
    Deno.removeSync(dir);
  });
  await t.step("a directory at the file's path: refused, left as it is", () => {
    Deno.mkdirSync(file, { recursive: true });
    const error = thrown(() => writeMetrics(file, root, "x 1\n"));
    assert.ok(error instanceof StoreError);
    assert.equal(error.path, file);
    assert.match(error.message, /is a directory/);
    assert.ok(Deno.statSync(file).isDirectory);
  });
});
