/**
 * Generated inputs (issue 11): many mutated configs, state files and history files (random bytes,
 * wrong types, truncations, YAML's own specials). The parsers and readers may only ever answer
 * with a located ConfigError or a skipped record; the runner end to end only with exit 0, 1 or
 * 2, never 70 and never a stack trace. The seed is in every failure message, so a failure can be
 * replayed with FUZZ_SEED.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { dueReason, listRows } from "../lib/cli/views.ts";
import type { Job } from "../lib/config/job.ts";
import { parseConfig } from "../lib/config/parse.ts";
import { ConfigError } from "../lib/errors.ts";
import { selectJobs } from "../lib/select.ts";
import { historyEntry, readHistory } from "../lib/store/history.ts";
import { parseState, readState } from "../lib/store/state.ts";
import { mixedConfigYaml } from "../bench/fixtures.ts";
import { random } from "./helpers/random.ts";
import { makeSandbox, ROOT, runCli } from "./helpers/sandbox.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261126);

const SPECIALS = [
  "*",
  "&a",
  "*a",
  ": ",
  "- ",
  "{",
  "}",
  "[",
  "]",
  '"',
  "'",
  "\n",
  "\t",
  "#",
  "!!binary ",
  "|",
  ">",
  "~",
  "null",
  "99999999999999999999",
  "-1",
  "1e400",
  "__proto__",
  "\u0000",
  "\ud800",
  "%",
  "\u001b[31m",
  "../../",
  "NaN",
  "true",
  "::",
  "@",
];

/** One mutation of `text`: bytes flipped, cut, a YAML special or a wrong type spliced in. */
function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  switch (Math.floor(next() * 6)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x250)) +
        text.slice(at + 1);
    case 2:
      return text.slice(0, at) + SPECIALS[Math.floor(next() * SPECIALS.length)] + text.slice(at);
    case 3:
      return text.slice(0, at) + text.slice(at + Math.floor(next() * 40));
    case 4: {
      // A value replaced by another type: a list, a map, a number, an empty value.
      const types = ["[1, 2]", "{ a: 1 }", "42", "", "-7", "3.5", '"text"'];
      return text.replace(/: [^\n{}\[\],]+/, `: ${types[Math.floor(next() * types.length)]}`);
    }
    default: {
      const bytes = new Uint8Array(Math.floor(next() * 64));
      for (let index = 0; index < bytes.length; index++) bytes[index] = Math.floor(next() * 256);
      return text.slice(0, at) + new TextDecoder().decode(bytes) + text.slice(at);
    }
  }
}

function mutations(text: string, next: () => number): string {
  let result = text;
  for (let count = 1 + Math.floor(next() * 3); count > 0; count--) result = mutate(result, next);
  return result;
}

const EXAMPLE = Deno.readTextFileSync(join(ROOT, "teleclaude.yml"));
const CORPUS = [EXAMPLE, mixedConfigYaml(12)];
const STATE = JSON.stringify({
  jobs: {
    job_0: {
      last_run: "2026-11-26T06:00:00Z",
      last_status: "success",
      last_error: null,
      outcome: "success",
      duration_ms: 12,
      usage: { turns: 3 },
    },
    job_1: {
      last_run: "2026-11-25T06:00:00Z",
      last_status: "failed",
      last_error: "boom",
      running: { started: "2026-11-26T06:00:00Z", pgid: 4242, runner_pid: 4241 },
    },
  },
  agent_backoff: { claude: { until: "2026-11-27T00:00:00Z", attempts: 2 } },
});
const HISTORY = Array.from(
  { length: 5 },
  (_, index) =>
    JSON.stringify({
      job: `job_${index}`,
      type: "script",
      started: "2026-11-26T06:00:00Z",
      finished: "2026-11-26T06:00:01Z",
      duration_ms: 1000,
      status: "success",
      exit_code: 0,
      error: null,
      log_path: null,
    }),
).join("\n") + "\n";

Deno.test(`fuzz (seed ${SEED}): the config parser answers every mutated config with a Config or a located ConfigError`, () => {
  const next = random(SEED);
  const source = { displayName: "teleclaude.yml", file: "/project/teleclaude.yml" };
  let rejected = 0;
  for (let round = 0; round < 1500; round++) {
    const text = mutations(CORPUS[round % CORPUS.length]!, next);
    try {
      const config = parseConfig(text, source);
      // What the parser accepts, the rest of the runner can work with.
      selectJobs(config.jobs, { jobs: Object.create(null) }, Date.now(), {
        force: false,
        only: null,
        timeZone: "UTC",
        computer: () => "here",
      });
      listRows(config.jobs, { jobs: Object.create(null) }, Date.now(), "UTC");
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        assert.fail(`seed ${SEED} round ${round}: ${error}\n--- config ---\n${text}`);
      }
      assert.ok(error.problems.every((problem) => problem.message.length > 0));
      rejected++;
    }
  }
  assert.ok(
    rejected > 100 && rejected < 1500,
    `only ${rejected} of 1500 rejected: the mutations do too little (or all)`,
  );
});

Deno.test(`fuzz (seed ${SEED}): a mutated state is salvaged or reported, and every view works on what remains`, () => {
  const next = random(SEED + 1);
  const jobs: Job[] =
    parseConfig(mixedConfigYaml(4), { displayName: "t.yml", file: "/t.yml" }).jobs;
  for (let round = 0; round < 1500; round++) {
    const text = mutations(STATE, next);
    let state;
    try {
      state = parseState(text).state;
    } catch (error) {
      // Not a state at all: the runner moves such a file aside (tested elsewhere).
      assert.ok(error instanceof Error, `seed ${SEED} round ${round}: ${error}`);
      continue;
    }
    try {
      for (const entry of Object.values(state.jobs)) {
        assert.ok(entry.last_run === null || !Number.isNaN(Date.parse(entry.last_run)));
        assert.ok(["success", "failed", "never"].includes(entry.last_status));
      }
      listRows(jobs, state, Date.now(), "UTC");
      for (const job of jobs) dueReason(job, state, Date.now(), "UTC", false);
      selectJobs(jobs, state, Date.now(), {
        force: false,
        only: null,
        timeZone: "UTC",
        computer: () => "here",
      });
      JSON.stringify(state);
    } catch (error) {
      assert.fail(`seed ${SEED} round ${round}: ${error}\n--- state ---\n${text}`);
    }
  }
});

Deno.test(`fuzz (seed ${SEED}): mutated history files are read without a throw, and only runs come out`, async () => {
  await using sandbox = await makeSandbox();
  const next = random(SEED + 2);
  const path = join(sandbox.dir, "history.jsonl");
  for (let round = 0; round < 300; round++) {
    await Deno.writeTextFile(path, mutations(HISTORY, next));
    const read = await readHistory(path, { limit: 100 });
    for (const entry of read.entries) {
      assert.ok(historyEntry(JSON.stringify(entry)) !== null, `seed ${SEED} round ${round}`);
    }
  }
  assert.equal(readState(join(sandbox.dir, "missing.json")).kind, "missing");
});

Deno.test(`fuzz (seed ${SEED}): the runner on mutated config, state and history exits 0, 1 or 2, never 70`, async () => {
  const next = random(SEED + 3);
  for (let round = 0; round < 12; round++) {
    await using sandbox = await makeSandbox();
    const config = mutations(EXAMPLE.replace(/agent: \w+/g, "agent: claude"), next);
    await Deno.writeTextFile(sandbox.config, config);
    const dir = join(sandbox.home, ".teleclaude");
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(join(dir, "cron_state.json"), mutations(STATE, next));
    await Deno.writeTextFile(join(dir, "cron_history.jsonl"), mutations(HISTORY, next));
    for (const args of [["--dry-run"], ["--list", "--json"], ["--history"], []]) {
      const result = await runCli(sandbox, args);
      const place = `seed ${SEED} round ${round} ${
        args.join(" ") || "tick"
      }: exit ${result.code}\n${result.stderr}\n--- config ---\n${config}`;
      assert.ok([0, 1, 2].includes(result.code), place);
      assert.doesNotMatch(result.stderr, /internal error|^\s+at /m, place);
    }
  }
});
