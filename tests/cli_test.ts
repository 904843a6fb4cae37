/** End-to-end: main.ts as a real process under the production permission flags and a temp HOME. */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  makeSandbox,
  readStateFile,
  ROOT,
  runCli,
  writeConfig,
  writeFile,
} from "./helpers/sandbox.ts";

const SCRIPTS = `jobs:
  ok_job:
    script: jobs/ok.sh
    when: { every: 10m }
  failing_job:
    script: jobs/fail.sh
    when: { every: 10m }
  reporting_job:
    script: [jobs/report.sh, "two words"]
    when: { every: 1d }
`;

async function writeScripts(project: string): Promise<void> {
  await writeFile(join(project, "jobs/ok.sh"), "#!/bin/sh\necho fine\n", true);
  await writeFile(
    join(project, "jobs/fail.sh"),
    "#!/bin/sh\necho 'something broke' >&2\nexit 3\n",
    true,
  );
  await writeFile(
    join(project, "jobs/report.sh"),
    `#!/bin/sh\necho "arg: $1"\necho '{"success": false, "message": "2 of 3 synced", "items_processed": 2, "errors": ["x failed"]}'\n`,
    true,
  );
  await writeFile(join(project, "jobs/extra.sh"), "#!/bin/sh\necho extra ran > extra.out\n", true);
}

Deno.test("--help and --version exit 0 and say what they should", async () => {
  await using sandbox = await makeSandbox();
  const help = await runCli(sandbox, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--dry-run/);
  const version = await runCli(sandbox, ["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^teleclaude-cron \d+\.\d+\.\d+/);
});

Deno.test("--list shows every job of the example config, agent and script alike", async () => {
  await using sandbox = await makeSandbox();
  const result = await runCli(sandbox, ["--list", "--config", join(ROOT, "teleclaude.yml")]);
  assert.equal(result.code, 0, result.stderr);
  for (
    const expected of [
      /next_prepare_draft\s+agent:claude\s+every 2h\s+never/,
      /log_rotation\s+script\s+at 03:15/,
      /reindex_notes\s+script\s+unscheduled/,
    ]
  ) {
    assert.match(result.stdout, expected);
  }
  const json = await runCli(sandbox, [
    "--list",
    "--json",
    "--config",
    join(ROOT, "teleclaude.yml"),
  ]);
  const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
  assert.deepEqual(rows.map((row) => row.type), [
    "agent",
    "agent",
    "agent",
    "script",
    "script",
    "script",
  ]);
  for (const key of ["name", "type", "schedule", "last_run", "last_status", "next_due"]) {
    assert.ok(key in rows[0]!, key);
  }
  assert.equal(rows[0]!.schedule, "every 2h");
});

Deno.test("a run executes due script jobs, records each outcome and exits 1 when one failed", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  await writeScripts(sandbox.project);
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 1, result.stderr);
  const state = await readStateFile(sandbox);
  assert.equal(state.jobs.ok_job?.last_status, "success");
  assert.equal(state.jobs.failing_job?.last_status, "failed");
  assert.equal(state.jobs.failing_job?.last_error, "exited with code 3");
  assert.equal(state.jobs.failing_job?.exit_code, 3);
  // The JSON result line decides, even on exit 0, and its message and count are kept.
  assert.equal(state.jobs.reporting_job?.last_status, "failed");
  assert.equal(state.jobs.reporting_job?.last_error, "reported success: false: x failed");
  assert.equal(state.jobs.reporting_job?.message, "2 of 3 synced");
  assert.equal(state.jobs.reporting_job?.items_processed, 2);
  // One structured line per event, and the failing job's output in the runner's own log.
  assert.match(result.stdout, /event=runner_start/);
  assert.match(result.stdout, /event=job_due job=ok_job/);
  assert.match(result.stdout, /event=job_finished job=ok_job status=success/);
  assert.match(result.stderr, /event=job_finished job=failing_job status=failed .*exit_code=3/);
  assert.match(result.stdout, /failing_job \| something broke/);
  assert.match(result.stdout, /event=runner_done ran=3 failed=2/);
  // The run log holds the output; the argument with a space arrived whole.
  const log = await Deno.readTextFile(state.jobs.reporting_job?.log_path as string);
  assert.match(log, /^arg: two words$/m);
  assert.equal(
    (await Deno.stat(state.jobs.reporting_job?.log_path as string)).mode! & 0o777,
    0o600,
  );
  // Nothing is due right after: a second run does nothing and exits 0.
  const again = await runCli(sandbox, []);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /event=runner_done ran=0 failed=0/);
});

Deno.test("--force --job runs one job now; a discovered job runs only that way", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  await writeScripts(sandbox.project);
  const plain = await runCli(sandbox, ["--job", "extra"]);
  assert.equal(plain.code, 0, plain.stderr);
  await assert.rejects(Deno.stat(join(sandbox.project, "extra.out")), Deno.errors.NotFound);
  const forced = await runCli(sandbox, ["--force", "--job", "extra"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(await Deno.readTextFile(join(sandbox.project, "extra.out")), "extra ran\n");
  const state = await readStateFile(sandbox);
  assert.deepEqual(Object.keys(state.jobs), ["extra"]);
});

Deno.test("--dry-run says why each job is or is not due and writes nothing", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS.replace("every: 10m }\n  failing", "every: 1h }\n  failing"));
  await writeScripts(sandbox.project);
  // Ran 20 minutes ago, every 1h (due a minute early for tick jitter): due in 39 minutes, far
  // from any rounding edge however long this test takes to get there.
  const dir = join(sandbox.home, ".teleclaude");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "cron_state.json"),
    JSON.stringify({
      jobs: {
        ok_job: {
          last_run: new Date(Date.now() - 20 * 60_000).toISOString(),
          last_status: "success",
          last_error: null,
        },
      },
    }),
  );
  const entries = () => [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  const before = await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_state.json"));
  const filesBefore = entries();
  const result = await runCli(sandbox, ["--dry-run"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^ok_job: last run 20 min ago, every 1h: due in 39 min$/m);
  assert.match(result.stdout, /^failing_job: never ran, every 10m: due now$/m);
  assert.match(
    result.stdout,
    /^extra: not scheduled \(discovered in jobs\/; run it with --force --job=extra\)$/m,
  );
  assert.equal(await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_state.json")), before);
  // Nothing at all is written: not even the config cache.
  assert.deepEqual(entries(), filesBefore);
});

Deno.test("a bad config exits 2 naming file, line, job and field, and leaves the state untouched", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  await writeScripts(sandbox.project);
  await runCli(sandbox, ["--job", "ok_job"]);
  const statePath = join(sandbox.home, ".teleclaude/cron_state.json");
  const before = await Deno.readTextFile(statePath);
  await writeConfig(sandbox, SCRIPTS.replace("every: 10m }\n  failing", "every: 10x }\n  failing"));
  for (const args of [[], ["--list"], ["--dry-run"]]) {
    const result = await runCli(sandbox, args);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /teleclaude\.yml:4:20: jobs\.ok_job\.when\.every: "10x" is not a duration \(use 10m, 2h or 1d\)/,
    );
    assert.equal(result.stdout, "");
  }
  assert.equal(await Deno.readTextFile(statePath), before);
});

Deno.test("bad usage exits 2 with a message: unknown flag, unknown job, missing config", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  const flag = await runCli(sandbox, ["--frobnicate"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown option --frobnicate \(see --help\)/);
  const job = await runCli(sandbox, ["--job", "nope"]);
  assert.equal(job.code, 2);
  assert.match(job.stderr, /unknown job "nope" .*known jobs: ok_job, failing_job, reporting_job/);
  const json = await runCli(sandbox, ["--json"]);
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--json does not go with a run \(no mode\)/);
  const modes = await runCli(sandbox, ["--doctor", "--list"]);
  assert.equal(modes.code, 2);
  assert.match(modes.stderr, /--list and --doctor cannot be combined/);
  const missing = await runCli(sandbox, ["--config", join(sandbox.dir, "absent.yml")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /absent\.yml: config file not found/);
  await assert.rejects(
    Deno.stat(join(sandbox.home, ".teleclaude/cron_state.json")),
    Deno.errors.NotFound,
  );
});

Deno.test("a corrupt state file is reported by --list, and moved aside (kept) by a run", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  await writeScripts(sandbox.project);
  const dir = join(sandbox.home, ".teleclaude");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "cron_state.json"), "{ not json");
  const list = await runCli(sandbox, ["--list"]);
  assert.equal(list.code, 0);
  assert.match(list.stderr, /cron_state\.json is corrupt/);
  assert.equal(await Deno.readTextFile(join(dir, "cron_state.json")), "{ not json");
  const run = await runCli(sandbox, ["--job", "ok_job"]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /event=state_corrupt .*moved_to=\S+cron_state\.json\.corrupt-/);
  const kept = [...Deno.readDirSync(dir)].find((entry) =>
    entry.name.startsWith("cron_state.json.corrupt-")
  );
  assert.ok(kept);
  assert.equal(await Deno.readTextFile(join(dir, kept.name)), "{ not json");
  assert.equal((await readStateFile(sandbox)).jobs.ok_job?.last_status, "success");
});

Deno.test("deno task cron, deno task compile and init.sh all take the flags from one script", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  assert.equal(config.tasks.cron, "sh scripts/run.sh");
  assert.equal(config.tasks.compile, "sh scripts/compile.sh");
  const run = await Deno.readTextFile(join(ROOT, "scripts/run.sh"));
  const compile = await Deno.readTextFile(join(ROOT, "scripts/compile.sh"));
  const launcher = await Deno.readTextFile(join(ROOT, "scripts/launcher.sh"));
  for (const script of [run, compile, launcher]) {
    assert.match(script, /flags=\$\(sh "\$root\/scripts\/permission-flags\.sh"\) \|\| exit \$\?/);
    assert.doesNotMatch(script, /-A\b|--allow-all/);
  }
  // compile.sh embeds lib/: main.ts reaches some of its modules only through lazyImport.
  assert.match(compile, /deno compile \$flags --include "\$source\/lib" /);
  const init = await Deno.readTextFile(join(ROOT, "init.sh"));
  // init.sh compiles a stamped copy of this tree, or writes the launcher (the same flags).
  assert.match(init, /sh "\$ROOT\/scripts\/compile\.sh" "\$built" "\$stage_copy"/);
  assert.match(init, /sh "\$ROOT\/scripts\/launcher\.sh" "\$runtime"/);
  assert.match(init, /flags=\$\(.* sh "\$ROOT\/scripts\/permission-flags\.sh" 2>&1\)/);
});

Deno.test("deno task cron stops with the flag script's message when the flags cannot be made", async (t) => {
  for (
    const [env, message] of [
      [{ HOME: "" }, /HOME must be set/],
      [
        { TELECLAUDE_API_SOCKET: "relative.sock" },
        /TELECLAUDE_API_SOCKET must be an absolute path/,
      ],
    ] as const
  ) {
    await t.step(JSON.stringify(env), async () => {
      await using sandbox = await makeSandbox();
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "cron", "--version"],
        cwd: ROOT,
        env: { ...sandbox.env, ...env },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 2);
      assert.match(new TextDecoder().decode(output.stderr), message);
      // main.ts never started: without flags it would have answered --version.
      assert.equal(new TextDecoder().decode(output.stdout), "");
    });
  }
});

Deno.test("--history and --logs show the runs the runner recorded", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, SCRIPTS);
  await writeScripts(sandbox.project);
  await runCli(sandbox, []);
  await runCli(sandbox, ["--force", "--job", "failing_job"]);
  const history = await runCli(sandbox, ["--history"]);
  assert.equal(history.code, 0);
  const lines = history.stdout.trim().split("\n");
  assert.match(lines[0]!, /^STARTED \(UTC\)\s+JOB\s+TYPE\s+STATUS\s+DURATION\s+SPEND\s+EXIT/);
  // A script reports no spend.
  assert.match(lines[1]!, /failing_job\s+script\s+failed\s+[\d.]+ s\s+-\s+3\s+exited with code 3/);
  assert.equal(lines.length, 5);
  const one = JSON.parse((await runCli(sandbox, ["--history", "ok_job", "--json"])).stdout);
  assert.equal(one.length, 1);
  assert.equal(one[0].status, "success");
  const logs = await runCli(sandbox, ["--logs", "failing_job"]);
  assert.equal(logs.code, 0);
  assert.equal(logs.stdout, "something broke\n");
  const older = await runCli(sandbox, ["--logs", "failing_job", "--run", "3"]);
  assert.equal(older.code, 2);
  assert.match(older.stderr, /failing_job has 2 run logs; --run 3 is past the oldest/);
});

Deno.test("--list flags a job that is overdue and says what the last tick tells", async (t) => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  late: { script: /bin/true, when: { every: 10m } }\n");
  const dir = join(sandbox.home, ".teleclaude");
  await Deno.mkdir(dir, { recursive: true });
  const lastRun = new Date(Date.now() - 60 * 60_000).toISOString();
  await Deno.writeTextFile(
    join(dir, "cron_state.json"),
    JSON.stringify({
      jobs: { late: { last_run: lastRun, last_status: "success", last_error: null } },
    }),
  );
  const tick = (minutesAgo: number, config: string) =>
    Deno.writeTextFile(
      join(dir, "cron_last_tick.json"),
      JSON.stringify({ at: new Date(Date.now() - minutesAgo * 60_000).toISOString(), config }),
    );
  await t.step("no runner at all", async () => {
    const list = await runCli(sandbox, ["--list"]);
    assert.match(
      list.stdout,
      /late\s+script\s+every 10m .* due now\s+overdue since \d{4}-\d{2}-\d{2} \d{2}:\d{2}: no runner has run since; is the service loaded\? \(--doctor\)/,
    );
  });
  await t.step("runners stopped before the job became due", async () => {
    await tick(55, sandbox.config);
    const list = await runCli(sandbox, ["--list"]);
    assert.match(
      list.stdout,
      /overdue since [\d: -]+: no runner has run since \(last [\d: -]+\); is the service loaded/,
    );
  });
  await t.step("runners run another config", async () => {
    await tick(2, "/elsewhere/teleclaude.yml");
    const list = await runCli(sandbox, ["--list"]);
    assert.match(
      list.stdout,
      /overdue since [\d: -]+: the runner uses another config: \/elsewhere\/teleclaude\.yml/,
    );
  });
  await t.step("runners ran but did not start it", async () => {
    await tick(2, sandbox.config);
    const list = await runCli(sandbox, ["--list"]);
    assert.match(
      list.stdout,
      /overdue since [\d: -]+: runners ran \(last [\d: -]+\) but did not start it; see --history/,
    );
  });
  await t.step("a run records its tick", async () => {
    await runCli(sandbox, []);
    const recorded = JSON.parse(await Deno.readTextFile(join(dir, "cron_last_tick.json")));
    assert.equal(recorded.config, sandbox.config);
    assert.ok(Date.now() - Date.parse(recorded.at) < 60_000);
    assert.doesNotMatch((await runCli(sandbox, ["--list"])).stdout, /overdue/);
  });
});

Deno.test("a script named without a slash runs from the config's directory, else from PATH", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  local: { script: here.sh, when: { every: 1d } }\n  on_path: { script: elsewhere.sh one, when: { every: 1d } }\n",
  );
  await writeFile(join(sandbox.project, "here.sh"), "#!/bin/sh\necho local > local.out\n", true);
  await writeFile(join(sandbox.bin, "elsewhere.sh"), '#!/bin/sh\necho "$1" > path.out\n', true);
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(await Deno.readTextFile(join(sandbox.project, "local.out")), "local\n");
  assert.equal(await Deno.readTextFile(join(sandbox.project, "path.out")), "one\n");
});

Deno.test("a new at job waits for its first slot: --list says when, --force --job runs it now", async () => {
  await using sandbox = await makeSandbox();
  // A slot 12 hours away from now, whatever the time the test runs.
  const slot = new Date(Date.now() + 12 * 3600_000);
  const time = `${String(slot.getUTCHours()).padStart(2, "0")}:${
    String(slot.getUTCMinutes()).padStart(2, "0")
  }`;
  await writeConfig(
    sandbox,
    `jobs:\n  briefing: { script: jobs/ok.sh, when: { at: "${time}" } }\n`,
  );
  await writeScripts(sandbox.project);
  const tick = await runCli(sandbox, []);
  assert.equal(tick.code, 0, tick.stderr);
  assert.match(tick.stdout, /event=runner_done ran=0 failed=0/);
  // The tick noted when it first saw the job: it waits for its first slot from then.
  const seen = (await readStateFile(sandbox)).jobs.briefing!;
  assert.equal(seen.last_run, null);
  assert.ok(Date.now() - Date.parse(seen.first_seen as string) < 60_000);
  const list = await runCli(sandbox, ["--list"]);
  assert.match(
    list.stdout,
    new RegExp(
      `briefing\\s+script\\s+at ${time}\\s+never\\s+never\\s+\\S+ ${time}\\s+first run at \\S+ ${time}`,
    ),
  );
  const dry = await runCli(sandbox, ["--dry-run"]);
  assert.match(
    dry.stdout,
    /^briefing: never ran, at \d\d:\d\d: first run in \d+ h( \d+ min)?: a new job waits for its first slot \(--force --job=briefing runs it now\)$/m,
  );
  const forced = await runCli(sandbox, ["--force", "--job", "briefing"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal((await readStateFile(sandbox)).jobs.briefing!.last_status, "success");
});

Deno.test("a failed attempt of a job with retries is marked in --history, --list and --dry-run", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  flaky:\n    script: jobs/fail.sh\n    when: { every: 1d }\n" +
      "    retry: { on: [failed], attempts: 2, backoff: 10m }\n",
  );
  await writeScripts(sandbox.project);
  const tick = await runCli(sandbox, []);
  assert.equal(tick.code, 1, tick.stderr);
  assert.match(
    tick.stderr,
    /event=job_finished job=flaky status=failed .*attempt="1 of 2" retry_at=\S+/,
  );
  const history = await runCli(sandbox, ["--history"]);
  assert.match(history.stdout, /flaky\s+script\s+failed \(attempt 1 of 2\)\s+/);
  const list = await runCli(sandbox, ["--list"]);
  assert.match(list.stdout, /flaky .*failed; retry 2 of 2 at (\d{4}-\d\d-\d\d )?\d\d:\d\d/);
  const dry = await runCli(sandbox, ["--dry-run"]);
  assert.match(
    dry.stdout,
    /^flaky: last run \d+ s ago, every 1d: retry 2 of 2 \(failed is retried\) due in (9|10) min$/m,
  );
  // Nothing is due yet: the retry waits for its time, no tick sleeps for it.
  const again = await runCli(sandbox, []);
  assert.match(again.stdout, /event=runner_done ran=0 failed=0/);
});

Deno.test("a retry written under a config that allowed it does not outlive that config", async () => {
  await using sandbox = await makeSandbox();
  const config = (retry: string) =>
    `jobs:\n  flaky:\n    script: jobs/fail.sh\n    when: { every: 1d }\n    retry: ${retry}\n`;
  await writeConfig(sandbox, config("{ on: [failed], attempts: 3, backoff: 1m }"));
  await writeScripts(sandbox.project);
  assert.equal((await runCli(sandbox, [])).code, 1);
  // Due at once, as if the minute had passed.
  const path = join(sandbox.home, ".teleclaude/cron_state.json");
  const state = JSON.parse(await Deno.readTextFile(path));
  state.jobs.flaky.retry.at = new Date(Date.now() - 1000).toISOString();
  await Deno.writeTextFile(path, JSON.stringify(state));
  for (
    const retry of ["false", "{ on: [timed_out], attempts: 3 }", "{ on: [failed], attempts: 1 }"]
  ) {
    await writeConfig(sandbox, config(retry));
    const list = await runCli(sandbox, ["--list"]);
    assert.doesNotMatch(list.stdout, /retry \d of/, `${retry}: ${list.stdout}`);
    const dry = await runCli(sandbox, ["--dry-run"]);
    assert.doesNotMatch(dry.stdout, /retry|due now/, `${retry}: ${dry.stdout}`);
    const tick = await runCli(sandbox, []);
    assert.doesNotMatch(tick.stdout, /event=job_started/, `${retry}: the retry ran`);
  }
});
