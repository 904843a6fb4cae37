import assert from "node:assert/strict";
import { join } from "node:path";
import {
  jobEntry,
  lastRunOf,
  loadStateForRun,
  parseState,
  parseTimestamp,
  readState,
  saveState,
} from "../../lib/store/state.ts";
import { makeSandbox } from "../helpers/sandbox.ts";

const PYTHON_STATE = new URL("../testdata/python_state.json", import.meta.url);

Deno.test("parseTimestamp() reads offsets, Z and naive (UTC) timestamps of the Python original", () => {
  assert.equal(
    parseTimestamp("2025-06-01T06:00:12.123456+00:00"),
    Date.UTC(2025, 5, 1, 6, 0, 12, 123),
  );
  assert.equal(parseTimestamp("2025-06-01T08:00:12+02:00"), Date.UTC(2025, 5, 1, 6, 0, 12));
  // Naive means UTC, whatever the local time zone: JavaScript alone would read it as local.
  assert.equal(parseTimestamp("2025-05-01T06:00:00.5"), Date.UTC(2025, 4, 1, 6, 0, 0, 500));
  assert.equal(parseTimestamp("2025-05-01 06:00:00"), Date.UTC(2025, 4, 1, 6));
  assert.equal(parseTimestamp("yesterday"), null);
  assert.equal(parseTimestamp(null), null);
});

Deno.test("a state file written by the Python original round-trips with its fields intact", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_state.json");
  await Deno.mkdir(join(sandbox.home, ".teleclaude"));
  await Deno.copyFile(PYTHON_STATE, path);
  const read = readState(path);
  assert.equal(read.kind, "ok");
  assert.equal(lastRunOf(read.state, "next_prepare_draft"), Date.UTC(2025, 5, 1, 6, 0, 12, 123));
  assert.equal(lastRunOf(read.state, "old_naive_job"), Date.UTC(2025, 4, 1, 6, 0, 0, 500));
  assert.equal(lastRunOf(read.state, "never_job"), null);
  saveState(path, read.state);
  const written = JSON.parse(await Deno.readTextFile(path));
  assert.deepEqual(written, JSON.parse(await Deno.readTextFile(PYTHON_STATE)));
});

Deno.test("saveState() writes atomically with private modes and keeps the previous file as .bak", async () => {
  await using sandbox = await makeSandbox();
  const dir = join(sandbox.home, ".teleclaude");
  const path = join(dir, "cron_state.json");
  saveState(path, {
    jobs: { a: { last_run: null, last_status: "never", last_error: null } },
  });
  saveState(path, {
    jobs: { b: { last_run: null, last_status: "never", last_error: null } },
  });
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(path)).jobs), ["b"]);
  assert.deepEqual(Object.keys(JSON.parse(await Deno.readTextFile(`${path}.bak`)).jobs), ["a"]);
  const leftovers = [...Deno.readDirSync(dir)].map((entry) => entry.name).filter((name) =>
    name.includes("tmp")
  );
  assert.deepEqual(leftovers, []);
});

Deno.test("readState() reports a corrupt file and falls back to .bak without touching either", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "cron_state.json");
  await Deno.writeTextFile(
    `${path}.bak`,
    JSON.stringify({
      jobs: { a: { last_run: "2026-01-01T00:00:00Z", last_status: "success", last_error: null } },
    }),
  );
  await Deno.writeTextFile(path, '{"jobs": {"a": ');
  const read = readState(path);
  assert.equal(read.kind, "corrupt");
  assert.ok(read.kind === "corrupt" && read.recoveredFrom === "backup" && /JSON/.test(read.reason));
  assert.equal(lastRunOf(read.state, "a"), Date.UTC(2026, 0, 1));
  assert.equal(await Deno.readTextFile(path), '{"jobs": {"a": ');
});

Deno.test("loadStateForRun() moves a corrupt file aside and keeps it", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "cron_state.json");
  await Deno.writeTextFile(path, '{"jobs": {"a": ');
  const read = loadStateForRun(path, new Date("2026-11-26T07:00:00Z"));
  assert.equal(read.kind, "corrupt");
  assert.ok(read.kind === "corrupt" && read.recoveredFrom === "empty");
  assert.equal(read.keptAt, `${path}.corrupt-2026-11-26T07-00-00-000Z`);
  assert.equal(await Deno.readTextFile(read.keptAt!), '{"jobs": {"a": ');
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("loadStateForRun() drops fields of the wrong type, reports them, keeps the file as it was", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, "cron_state.json");
  const text = JSON.stringify({
    jobs: {
      a: { last_run: "not a time", last_status: 7, outcome: 5, last_error: null },
      b: { last_run: "+275760-09-13T00:00:00.001Z", last_status: "success", last_error: null },
      c: {
        last_run: "2026-11-26T06:00:00Z",
        last_status: "success",
        last_error: null,
        usage: { turns: 3 },
      },
      d: "not an entry",
      e: {
        last_run: "2026-11-26T06:00:00Z",
        last_status: "failed",
        last_error: null,
        running: { pgid: "x" },
      },
    },
    agent_backoff: {
      claude: { until: "soon", attempts: 1 },
      codex: { until: "2026-11-27T00:00:00Z", attempts: 2 },
    },
    other: "kept",
  });
  await Deno.writeTextFile(path, text);
  const read = loadStateForRun(path, new Date("2026-11-26T07:00:00Z"));
  assert.equal(read.kind, "ok");
  assert.deepEqual(read.problems, [
    'jobs.a.last_run: "not a time" is not a timestamp or null: dropped',
    "jobs.a.last_status: 7 is not a status: dropped",
    "jobs.a.outcome: 5 is not an outcome: dropped",
    'jobs.b.last_run: "+275760-09-13T00:00:00.001Z" is not a timestamp or null: dropped',
    'jobs.d: "not an entry" is not an entry: dropped',
    'jobs.e.running: {"pgid":"x"} is not a running record: dropped',
    'agent_backoff.claude: {"until":"soon","attempts":1} is not a back-off: dropped',
  ]);
  assert.deepEqual({ ...read.state.jobs.a }, {
    last_run: null,
    last_status: "never",
    last_error: null,
  });
  assert.equal(read.state.jobs.c?.usage?.turns, 3);
  assert.equal(read.state.jobs.e?.running, undefined);
  assert.deepEqual(Object.keys(read.state.agent_backoff!), ["codex"]);
  assert.equal(read.state.other, "kept");
  // The file as it was is kept beside; the state file itself is repaired once.
  assert.equal(read.keptAt, `${path}.invalid-2026-11-26T07-00-00-000Z`);
  assert.equal(await Deno.readTextFile(read.keptAt!), text);
  const again = loadStateForRun(path, new Date("2026-11-26T07:05:00Z"));
  assert.deepEqual(again.problems, []);
});

Deno.test("job names that are also names of Object.prototype are names like any other", () => {
  const names = ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf"];
  const state = parseState(JSON.stringify({
    jobs: Object.fromEntries(names.map((name) => [name, {
      last_run: "2026-11-26T06:00:00Z",
      last_status: "success",
      last_error: null,
    }])),
  })).state;
  for (const name of names) assert.equal(lastRunOf(state, name), Date.UTC(2026, 10, 26, 6), name);
  const empty = parseState("{}").state;
  for (const name of names) {
    assert.equal(jobEntry(empty, name), undefined, name);
    assert.equal(lastRunOf(empty, name), null, name);
  }
});

Deno.test("parseState() checks the retry, retries and first_seen fields as it checks the others", () => {
  const good = {
    last_run: "2026-11-26T03:00:03Z",
    last_status: "failed",
    last_error: "529",
    retry: { attempt: 2, at: "2026-11-26T03:11:03Z" },
    retries: 4,
  };
  const { state, problems } = parseState(JSON.stringify({
    jobs: {
      good,
      seen: {
        last_run: null,
        last_status: "never",
        last_error: null,
        first_seen: "2026-11-26T01:00:00Z",
      },
      bad: {
        ...good,
        retry: { attempt: 1, at: "2026-11-26T03:11:03Z" },
        retries: -1,
        first_seen: "yesterday",
      },
      torn: { ...good, retry: { attempt: 2 } },
    },
  }));
  assert.deepEqual(state.jobs.good!.retry, good.retry);
  assert.equal(state.jobs.good!.retries, 4);
  assert.equal(state.jobs.seen!.first_seen, "2026-11-26T01:00:00Z");
  assert.deepEqual(problems, [
    'jobs.bad.retry: {"attempt":1,"at":"2026-11-26T03:11:03Z"} is not a retry record: dropped',
    "jobs.bad.retries: -1 is not a count: dropped",
    'jobs.bad.first_seen: "yesterday" is not a timestamp: dropped',
    'jobs.torn.retry: {"attempt":2} is not a retry record: dropped',
  ]);
  assert.equal(state.jobs.bad!.retry, undefined);
});

Deno.test("loadStateForRun() checks the spend tallies field by field: a bad one is dropped, located, the file kept", async () => {
  await using sandbox = await makeSandbox();
  const path = join(sandbox.home, ".teleclaude/cron_state.json");
  const day = { of: "2026-12-01", usd: 4, tokens: 2000 };
  const month = { of: "2026-12", usd: 40.5, tokens: 20000 };
  const text = JSON.stringify({
    jobs: {
      good: { last_run: null, last_status: "never", last_error: null, spent: { claude: day } },
      bad: {
        last_run: null,
        last_status: "never",
        last_error: null,
        spent: { codex: { usd: 0, tokens: -3 } },
      },
    },
    spend: {
      claude: { day, month, told: { day: "2026-12-01" } },
      codex: { day: { ...day, of: "December" }, month, told: { week: "49" } },
      gemini: { day: { ...day, usd: "lots" }, hour: 3 },
      other: "nothing",
    },
  });
  await Deno.mkdir(join(sandbox.home, ".teleclaude"), { recursive: true });
  await Deno.writeTextFile(path, text);
  const read = loadStateForRun(path, new Date("2026-12-01T07:00:00Z"));
  assert.deepEqual(read.problems, [
    'jobs.bad.spent: {"codex":{"usd":0,"tokens":-3}} is not spend by agent: dropped',
    'spend.codex.day: {"of":"December","usd":4,"tokens":2000} is not a day\'s tally ' +
    "({of: YYYY-MM-DD, usd, tokens}): dropped",
    'spend.codex.told: {"week":"49"} is not a record of the periods told: dropped',
    'spend.gemini.day: {"of":"2026-12-01","usd":"lots","tokens":2000} is not a day\'s tally ' +
    "({of: YYYY-MM-DD, usd, tokens}): dropped",
    "spend.gemini.hour: 3 is not a field of a tally: dropped",
    'spend.other: "nothing" is not a tally: dropped',
  ]);
  assert.deepEqual({ ...read.state.jobs.good!.spent }, { claude: day });
  assert.equal(read.state.jobs.bad!.spent, undefined);
  assert.deepEqual({ ...read.state.spend!.claude }, { day, month, told: { day: "2026-12-01" } });
  // What was good of a tally stays: codex keeps its month.
  assert.deepEqual({ ...read.state.spend!.codex }, { month });
  assert.deepEqual(Object.keys(read.state.spend!), ["claude", "codex", "gemini"]);
  assert.equal(await Deno.readTextFile(read.keptAt!), text);
  assert.deepEqual(loadStateForRun(path, new Date("2026-12-01T07:05:00Z")).problems, []);
});

Deno.test("parseState() keeps a pending history line only when it is a history line", () => {
  const line = {
    job: "nightly",
    type: "script",
    started: "2026-12-02T03:00:00.000Z",
    finished: "2026-12-02T03:00:01.000Z",
    duration_ms: 1000,
    status: "success",
    exit_code: 0,
    error: null,
    log_path: null,
  };
  const entry = { last_run: line.started, last_status: "success", last_error: null };
  const { state, problems } = parseState(JSON.stringify({
    jobs: {
      good: { ...entry, history_pending: line },
      torn: { ...entry, history_pending: { ...line, finished: "soon" } },
      odd: { ...entry, history_pending: "nightly" },
    },
  }));
  assert.deepEqual(state.jobs.good!.history_pending, line);
  assert.equal(state.jobs.torn!.history_pending, undefined);
  assert.deepEqual(problems, [
    `jobs.torn.history_pending: {"job":"nightly","type":"script","started":"2026-12-02T03... is not a history line: dropped`,
    'jobs.odd.history_pending: "nightly" is not a history line: dropped',
  ]);
});
