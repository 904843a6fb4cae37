/**
 * Issue 11, item by item: hostile files, odd paths and bad records never crash the runner (no
 * exit 70, no stack trace), never reach outside ~/.teleclaude, and never lose a record. Each test
 * names its item (#N). The faults that need a small file system or another user are in
 * hardening_fs_test.ts; generated inputs in fuzz_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { realSuccess } from "./helpers/fake_agent.ts";
import {
  type CliResult,
  makeSandbox,
  readStateFile,
  runCli,
  type Sandbox,
  writeConfig,
  writeFile,
} from "./helpers/sandbox.ts";

/** No input may ever end in exit 70 or a stack trace. */
function assertNoCrash(result: CliResult, what: string): void {
  assert.notEqual(result.code, 70, `${what}: exit 70\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m, `${what}: ${result.stderr}`);
}

function teleclaude(sandbox: Sandbox, ...parts: string[]): string {
  return join(sandbox.home, ".teleclaude", ...parts);
}

async function writeState(sandbox: Sandbox, state: unknown): Promise<void> {
  await Deno.mkdir(teleclaude(sandbox), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(teleclaude(sandbox, "cron_state.json"), JSON.stringify(state));
}

const MARKER_JOB = "jobs:\n  mark: { script: jobs/mark.sh, when: { every: 1h } }\n";

/** A config whose one job leaves `ran.txt` behind in the project. */
async function markerJob(sandbox: Sandbox, yaml = MARKER_JOB): Promise<string> {
  await writeConfig(sandbox, yaml);
  await writeFile(join(sandbox.project, "jobs/mark.sh"), "#!/bin/sh\necho ran >> ran.txt\n", true);
  return join(sandbox.project, "ran.txt");
}

Deno.test("#1 a link to nowhere or a link loop in jobs/ is skipped with a warning; the jobs run", async () => {
  await using sandbox = await makeSandbox();
  const ran = await markerJob(sandbox);
  await Deno.symlink(join(sandbox.dir, "nowhere"), join(sandbox.project, "jobs/dangling.sh"));
  await Deno.symlink(join(sandbox.project, "jobs/loop.sh"), join(sandbox.project, "jobs/loop.sh"));
  for (const args of [["--list"], ["--dry-run"]]) {
    const result = await runCli(sandbox, args);
    assertNoCrash(result, args[0]!);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: \S+jobs\/dangling\.sh: skipped: .*link to nowhere/);
    assert.match(result.stderr, /warning: \S+jobs\/loop\.sh: skipped/);
  }
  const tick = await runCli(sandbox, []);
  assertNoCrash(tick, "tick");
  assert.equal(tick.code, 0, tick.stderr);
  assert.match(tick.stderr, /event=config_warning message="\S+dangling\.sh: skipped/);
  assert.equal(await Deno.readTextFile(ran), "ran\n");
  const doctor = await runCli(sandbox, ["--doctor", "--json"]);
  assertNoCrash(doctor, "doctor");
  const folder = (JSON.parse(doctor.stdout) as { name: string; status: string; detail: string }[])
    .find((check) => check.name === "jobs folder")!;
  assert.equal(folder.status, "fail");
  assert.match(folder.detail, /dangling\.sh.*loop\.sh/);
});

Deno.test("#3 a job name longer than a file name is refused with its place, before anything runs", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, `jobs:\n  ${"a".repeat(300)}: { script: /bin/true }\n`);
  const result = await runCli(sandbox, []);
  assertNoCrash(result, "tick");
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /teleclaude\.yml:2:3: jobs\.a{300}: job name "a{57}\.\.\." may use only a-z, 0-9, _ and -, at most 100/,
  );
  // Nothing ran and nothing was recorded: only what tells a person of it was written (the
  // daemon is down here, so the event waits in the outbox).
  const written = [...Deno.readDirSync(teleclaude(sandbox))].map((entry) => entry.name).sort();
  assert.deepEqual(written, ["cron_config_problem.json", "cron_outbox.jsonl"]);
});

Deno.test("#4 a config that is not a regular file, or too large, is refused with exit 2", async (t) => {
  await using sandbox = await makeSandbox();
  const fifo = join(sandbox.dir, "config.fifo");
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  const big = join(sandbox.dir, "big.yml");
  await Deno.writeTextFile(big, `# ${"x".repeat(4 * 1024 * 1024)}\n`);
  const cases: [string, RegExp][] = [
    ["/dev/null", /\/dev\/null: is not a regular file \(a FIFO, socket or device\)/],
    ["/dev/zero", /\/dev\/zero: is not a regular file/],
    ["/dev/stdin", /\/dev\/stdin: (is not a regular file|config file not found)/],
    [fifo, /config\.fifo: is not a regular file/],
    [sandbox.dir, /is a directory, not a file/],
    [big, /big\.yml: is \d+ bytes, over the limit of 4194304 bytes \(4 MiB\)/],
  ];
  for (const [config, message] of cases) {
    await t.step(config, async () => {
      for (const mode of [[], ["--list"], ["--dry-run"]]) {
        const result = await runCli(sandbox, ["--config", config, ...mode]);
        assertNoCrash(result, config);
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, message);
      }
    });
  }
});

Deno.test("#4 YAML alias bombs and unresolved aliases are located config errors", async () => {
  await using sandbox = await makeSandbox();
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    ..."bcdefghij".split("").map((name, index) =>
      `${name}: &${name} [${Array(10).fill(`*${"abcdefghij"[index]}`).join(", ")}]`
    ),
    "jobs: {}",
  ].join("\n");
  await writeConfig(sandbox, `${bomb}\n`);
  const exploded = await runCli(sandbox, ["--list"]);
  assertNoCrash(exploded, "bomb");
  assert.equal(exploded.code, 2);
  assert.match(exploded.stderr, /teleclaude\.yml:2:\d+: YAML aliases expand too far/);
  await writeConfig(sandbox, "jobs:\n  a: { script: *nothing }\n");
  const unresolved = await runCli(sandbox, ["--list"]);
  assertNoCrash(unresolved, "alias");
  assert.equal(unresolved.code, 2);
  assert.match(
    unresolved.stderr,
    /teleclaude\.yml:2:16: YAML syntax error: unresolved alias \*nothing: set the anchor &nothing before it/,
  );
  // Shared defaults through one anchor are fine, far past npm:yaml's default of 99 uses.
  const shared = Array.from({ length: 150 }, (_, index) => `  j${index}: *defaults`).join("\n");
  await writeConfig(
    sandbox,
    `defaults: &defaults { script: /bin/true, when: { every: 1h } }\njobs:\n${shared}\n`,
  );
  const many = await runCli(sandbox, ["--list", "--json"]);
  assert.equal(many.code, 0, many.stderr);
  assert.equal(JSON.parse(many.stdout).length, 150);
});

Deno.test("#4 #5 #21 numbers and names beyond what the runner can hold are located errors", async () => {
  await using sandbox = await makeSandbox();
  const cases: [string, RegExp][] = [
    ["when: { every: 99999999d }", /jobs\.j\.when\.every: "99999999d" is longer than a year/],
    ["timeout: 2147484", /jobs\.j\.timeout: 2147484 is too large \(maximum 604800\)/],
    ["idle_timeout: 9999999", /jobs\.j\.idle_timeout: 9999999 is too large \(maximum 604800\)/],
    ["max_log_size: 1TiB", /jobs\.j\.max_log_size: "1TiB" is not a log size from 64KiB to 1GiB/],
  ];
  for (const [field, message] of cases) {
    await writeConfig(sandbox, `jobs:\n  j: { script: /bin/true, ${field} }\n`);
    for (const mode of [[], ["--list"], ["--dry-run"]]) {
      const result = await runCli(sandbox, mode);
      assertNoCrash(result, field);
      assert.equal(result.code, 2, `${field}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  }
  for (const spec of ["../../etc/passwd", "/abs", "a/../b", '"two\\nlines"']) {
    await writeConfig(sandbox, `jobs:\n  j: { job: ${spec} }\n`);
    const result = await runCli(sandbox, ["--list"]);
    assertNoCrash(result, spec);
    assert.equal(result.code, 2, spec);
    assert.match(result.stderr, /jobs\.j\.job: .* is not a spec name/);
  }
});

Deno.test("#4 a lock, state or cache path of the wrong kind is named, with exit 2; nothing is lost", async (t) => {
  for (
    const [file, make] of [
      ["cron_runner.pid", "directory"],
      ["cron_runner.pid", "fifo"],
      ["cron_runner.pid", "dangling"],
      ["cron_state.json", "directory"],
      ["cron_state.json", "fifo"],
      ["cron_state.json", "dangling"],
    ] as const
  ) {
    await t.step(`${file} as a ${make}`, async () => {
      await using sandbox = await makeSandbox();
      const ran = await markerJob(sandbox);
      const path = teleclaude(sandbox, file);
      await Deno.mkdir(teleclaude(sandbox), { recursive: true, mode: 0o700 });
      if (make === "directory") await Deno.mkdir(path);
      if (make === "fifo") await new Deno.Command("mkfifo", { args: [path] }).output();
      if (make === "dangling") await Deno.symlink(join(sandbox.dir, "outside"), path);
      const result = await runCli(sandbox, []);
      assertNoCrash(result, `${file} ${make}`);
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`${file}: is a (directory|special file|symbolic link)`),
      );
      await assert.rejects(Deno.stat(ran), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(join(sandbox.dir, "outside")), Deno.errors.NotFound);
      const doctor = await runCli(sandbox, ["--doctor"]);
      assertNoCrash(doctor, "doctor");
      assert.match(doctor.stdout, new RegExp(`FAIL runner files: .*${file} is a`));
    });
  }
  await t.step("cron_state.json.bak as a directory: the .bak is named, nothing runs", async () => {
    await using sandbox = await makeSandbox();
    const ran = await markerJob(sandbox);
    await writeState(sandbox, { jobs: {} });
    const text = await Deno.readTextFile(teleclaude(sandbox, "cron_state.json"));
    await Deno.mkdir(teleclaude(sandbox, "cron_state.json.bak"));
    const result = await runCli(sandbox, []);
    assertNoCrash(result, "bak");
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /cron_state\.json\.bak: cannot be written: Is a directory/);
    await assert.rejects(Deno.stat(ran), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(teleclaude(sandbox, "cron_state.json")), text);
    const left = [...Deno.readDirSync(teleclaude(sandbox))].map((entry) => entry.name);
    assert.deepEqual(left.filter((name) => name.includes(".tmp-")), [], "no temp file is left");
    const doctor = await runCli(sandbox, ["--doctor"]);
    assert.match(doctor.stdout, /FAIL runner files: .*cron_state\.json\.bak is a directory/);
  });
  await t.step("the cache as a file: parsed instead, with a warning; the job runs", async () => {
    await using sandbox = await makeSandbox();
    const ran = await markerJob(sandbox);
    await Deno.mkdir(teleclaude(sandbox), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(teleclaude(sandbox, "cache"), "not a directory");
    const result = await runCli(sandbox, []);
    assertNoCrash(result, "cache");
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /event=config_warning message="config cache not written: \S+cache: is a file/,
    );
    assert.equal(await Deno.readTextFile(ran), "ran\n");
  });
});

Deno.test("#4 state entries of the wrong type are dropped, reported and kept aside; the jobs run", async () => {
  await using sandbox = await makeSandbox();
  const ran = await markerJob(sandbox);
  await writeState(sandbox, {
    jobs: {
      mark: {
        last_run: "+275760-09-13T00:00:00.001Z",
        last_status: 7,
        outcome: 5,
        last_error: null,
      },
    },
  });
  const list = await runCli(sandbox, ["--list"]);
  assertNoCrash(list, "list");
  assert.equal(list.code, 0, list.stderr);
  const run = await runCli(sandbox, []);
  assertNoCrash(run, "run");
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /event=state_repaired .*jobs\.mark\.last_run: \\"\+275760/);
  assert.equal(await Deno.readTextFile(ran), "ran\n");
  const kept = [...Deno.readDirSync(teleclaude(sandbox))].filter((entry) =>
    entry.name.startsWith("cron_state.json.invalid-")
  );
  assert.equal(kept.length, 1);
  assert.equal((await readStateFile(sandbox)).jobs.mark?.last_status, "success");
});

Deno.test("#4 history lines that are not runs are skipped and counted; a 512 MB history costs nothing", async () => {
  await using sandbox = await makeSandbox();
  await markerJob(sandbox);
  await runCli(sandbox, []);
  const history = teleclaude(sandbox, "cron_history.jsonl");
  const good = await Deno.readTextFile(history);
  const junk = ["null", "5", "{}", '{"job": 1}', "\u0000\u00ff\u0007garbage", '"text"', "[1,2]"];
  await Deno.writeTextFile(history, `${junk.join("\n")}\n${good}`);
  const result = await runCli(sandbox, ["--history", "--json"]);
  assertNoCrash(result, "history");
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).length, 1);
  assert.match(result.stderr, /warning: 7 lines of \S+cron_history\.jsonl are not runs/);
  // A sparse file of 512 MB: read from its end, in blocks, never whole.
  await Deno.truncate(history, 512 * 1024 * 1024);
  await Deno.writeTextFile(history, `\n${good}`, { append: true });
  const huge = await runCli(sandbox, ["--history", "--limit", "2"]);
  assertNoCrash(huge, "huge history");
  assert.equal(huge.code, 0, huge.stderr);
  assert.match(huge.stdout, /mark\s+script\s+success/);
  assert.match(huge.stderr, /larger than any history the runner writes: only its end was read/);
});

Deno.test("#7 a run's log keeps its head and tail within max_log_size, with a marker between", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  loud: { script: jobs/loud.sh, max_log_size: 256KiB, when: { every: 1d } }\n",
  );
  // 1 MB of numbered lines: the first and the last must both survive.
  await writeFile(
    join(sandbox.project, "jobs/loud.sh"),
    "#!/bin/sh\nseq 1 150000 | sed 's/^/line /'\necho last line\n",
    true,
  );
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  const log = await Deno.readTextFile((await readStateFile(sandbox)).jobs.loud!.log_path as string);
  assert.ok(log.length <= 256 * 1024 + 100, `log is ${log.length} bytes`);
  assert.match(log, /^line 1\nline 2\n/);
  assert.match(log, /\n\[… \d+ bytes cut …\]\n/);
  assert.match(log, /line 150000\nlast line\n$/);
});

Deno.test("#8 links planted at the runner's paths never make it write or delete outside ~/.teleclaude", async (t) => {
  await using sandbox = await makeSandbox();
  const outside = join(sandbox.dir, "outside");
  await Deno.mkdir(outside);
  const precious = Array.from({ length: 30 }, (_, index) => join(outside, `${index}.log`));
  for (const path of precious) await Deno.writeTextFile(path, "precious");
  const ran = await markerJob(sandbox);
  await Deno.mkdir(teleclaude(sandbox, "logs/cron"), { recursive: true });
  await t.step("the tick note and the cache dir as links: warnings, the job runs", async () => {
    await Deno.symlink(join(outside, "0.log"), teleclaude(sandbox, "cron_last_tick.json"));
    await Deno.symlink(outside, teleclaude(sandbox, "cache"));
    const result = await runCli(sandbox, []);
    assertNoCrash(result, "links");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /event=tick_not_recorded .*is a symbolic link/);
    assert.match(
      result.stderr,
      /event=config_warning message="config cache not written: \S+cache: is a symbolic link/,
    );
    assert.equal(await Deno.readTextFile(ran), "ran\n");
  });
  await t.step("a job's log directory as a link: the job is recorded as not started", async () => {
    await Deno.remove(teleclaude(sandbox, "logs/cron/mark"), { recursive: true });
    await Deno.symlink(outside, teleclaude(sandbox, "logs/cron/mark"));
    const result = await runCli(sandbox, ["--force"]);
    assertNoCrash(result, "log dir");
    assert.equal(result.code, 1);
    const entry = (await readStateFile(sandbox)).jobs.mark!;
    assert.match(
      entry.last_error as string,
      /^not started: its run log \S+logs\/cron\/mark: is a symbolic link/,
    );
  });
  await t.step("the pidfile as a link: exit 2, the target untouched", async () => {
    await Deno.symlink(join(outside, "1.log"), teleclaude(sandbox, "cron_runner.pid"));
    const result = await runCli(sandbox, []);
    assertNoCrash(result, "pidfile");
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cron_runner\.pid: is a symbolic link/);
  });
  for (const path of precious) assert.equal(await Deno.readTextFile(path), "precious", path);
  assert.equal([...Deno.readDirSync(outside)].length, 30);
});

Deno.test("#9 an edited cache is never taken for the config; a same-size rewrite is seen", async () => {
  await using sandbox = await makeSandbox();
  const ran = await markerJob(sandbox);
  await runCli(sandbox, ["--config", sandbox.config, "--job", "mark"]);
  const cacheDir = teleclaude(sandbox, "cache");
  const [cacheName] = [...Deno.readDirSync(cacheDir)].map((entry) => entry.name);
  const cacheFile = join(cacheDir, cacheName!);
  const cached = JSON.parse(await Deno.readTextFile(cacheFile));
  const config = JSON.parse(cached.config);
  config.jobs = [{
    ...config.jobs[0],
    name: "../../../../escape",
    command: ["/bin/sh", "-c", "echo pwned > pwned.txt"],
    timeoutSeconds: -1,
  }];
  await Deno.writeTextFile(
    cacheFile,
    JSON.stringify({ ...cached, config: JSON.stringify(config) }),
  );
  const forged = await runCli(sandbox, ["--list", "--json"]);
  assert.equal(forged.code, 0, forged.stderr);
  assert.deepEqual(JSON.parse(forged.stdout).map((row: { name: string }) => row.name), ["mark"]);
  await runCli(sandbox, ["--force"]);
  await assert.rejects(Deno.stat(join(sandbox.project, "pwned.txt")), Deno.errors.NotFound);
  // The same size, the same mtime, within the same second: still a different config.
  const info = await Deno.stat(sandbox.config);
  await Deno.writeTextFile(sandbox.config, MARKER_JOB.replace("every: 1h", "every: 2h"));
  await Deno.utime(sandbox.config, info.atime!, info.mtime!);
  assert.equal((await Deno.stat(sandbox.config)).size, info.size);
  const list = await runCli(sandbox, ["--list", "--json"]);
  assert.equal(JSON.parse(list.stdout)[0].schedule, "every 2h");
  assert.ok(await Deno.readTextFile(ran));
});

Deno.test("#10 jobs named constructor and __proto__ are recorded, and not run again every tick", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  constructor: { script: jobs/mark.sh, when: { every: 1h } }\n  __proto__: { script: jobs/mark.sh, when: { every: 1h } }\n",
  );
  await writeFile(
    join(sandbox.project, "jobs/mark.sh"),
    '#!/bin/sh\necho "$TELECLAUDE_JOB_NAME" >> ran.txt\n',
    true,
  );
  for (let tick = 0; tick < 3; tick++) assert.equal((await runCli(sandbox, [])).code, 0);
  assert.equal(
    await Deno.readTextFile(join(sandbox.project, "ran.txt")),
    "constructor\n__proto__\n",
  );
  const text = await Deno.readTextFile(teleclaude(sandbox, "cron_state.json"));
  assert.deepEqual(Object.keys(JSON.parse(text).jobs), ["constructor", "__proto__"]);
});

Deno.test("#11 a running record naming group 0, 1 or the runner's own is repaired, nothing signalled", async (t) => {
  for (const pgid of [0, 1, -1]) {
    await t.step(`pgid ${pgid}`, async () => {
      await using sandbox = await makeSandbox();
      await markerJob(sandbox);
      const started = new Date(Date.now() - 60_000).toISOString();
      await writeState(sandbox, {
        jobs: {
          mark: {
            last_run: null,
            last_status: "never",
            last_error: null,
            running: { started, pgid, runner_pid: 999999 },
          },
        },
      });
      const result = await runCli(sandbox, []);
      assertNoCrash(result, `pgid ${pgid}`);
      assert.equal(result.code, 0, result.stderr);
      const entry = (await readStateFile(sandbox)).jobs.mark!;
      assert.equal(entry.running, undefined);
      assert.equal(entry.outcome, "interrupted");
      assert.match(
        entry.last_error as string,
        new RegExp(`process group ${pgid}, which is not a job's: nothing was signalled`),
      );
    });
  }
});

Deno.test("#12 .bak holds the last state at rest: recovering from it never invents an interruption", async () => {
  await using sandbox = await makeSandbox();
  await markerJob(sandbox);
  await runCli(sandbox, []);
  const bak = JSON.parse(await Deno.readTextFile(teleclaude(sandbox, "cron_state.json.bak")));
  assert.equal(bak.jobs.mark?.running, undefined);
  await runCli(sandbox, ["--force"]);
  const again = JSON.parse(await Deno.readTextFile(teleclaude(sandbox, "cron_state.json.bak")));
  assert.equal(again.jobs.mark?.running, undefined);
  assert.equal(again.jobs.mark?.last_status, "success");
  // The state is torn: the next run recovers from .bak, and nothing becomes "interrupted".
  await Deno.writeTextFile(teleclaude(sandbox, "cron_state.json"), '{"jobs": ');
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /job_interrupted/);
  const history = (await Deno.readTextFile(teleclaude(sandbox, "cron_history.jsonl"))).trim().split(
    "\n",
  );
  assert.equal(history.length, 2);
});

Deno.test("#13 a last run in the future (clock moved back) is said, and holds the job one interval", async () => {
  await using sandbox = await makeSandbox();
  const ran = await markerJob(
    sandbox,
    "jobs:\n  mark: { script: jobs/mark.sh, when: { every: 10m } }\n",
  );
  const future = new Date(Date.now() + 3 * 3600_000).toISOString();
  await writeState(sandbox, {
    jobs: { mark: { last_run: future, last_status: "success", last_error: null } },
  });
  const list = await runCli(sandbox, ["--list"]);
  assert.match(list.stdout, /last run recorded in the future: clock moved back\?/);
  const dry = await runCli(sandbox, ["--dry-run"]);
  assert.match(
    dry.stdout,
    /mark: last run recorded in the future \(clock moved back\?\), every 10m: due in 10 min/,
  );
  const tick = await runCli(sandbox, []);
  assert.equal(tick.code, 0, tick.stderr);
  assert.match(tick.stderr, /event=clock_moved_back jobs=mark/);
  const lastRun = Date.parse((await readStateFile(sandbox)).jobs.mark!.last_run as string);
  assert.ok(Math.abs(lastRun - Date.now()) < 60_000, "repaired to now: due one interval from here");
  await assert.rejects(Deno.stat(ran), Deno.errors.NotFound);
});

Deno.test("#15 a relative agents.<name>.binary is relative to the config, for the run and the doctor", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "agents:\n  claude: { binary: tools/claude }\njobs:\n  j: { job: s, when: { every: 1d } }\n",
    ["s"],
  );
  await writeFile(
    join(sandbox.project, "tools/claude"),
    `#!/bin/sh\ncat > /dev/null\necho ran > agent.txt\ncat <<'EOF'\n${await realSuccess(
      "claude",
    )}\nEOF\n`,
    true,
  );
  // The runner's own working directory is elsewhere, as under launchd.
  const result = await runCli(sandbox, ["--config", sandbox.config], {}, sandbox.dir);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.equal(await Deno.readTextFile(join(sandbox.project, "agent.txt")), "ran\n");
  const doctor = await runCli(sandbox, ["--doctor"], {}, sandbox.dir);
  assert.match(
    doctor.stdout,
    new RegExp(`ok\\s+agent claude: found for this shell: ${sandbox.project}/tools/claude`),
  );
});

Deno.test("#18 text a job controls cannot forge rows or reach the terminal", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  evil: { script: jobs/evil.sh, when: { every: 1d } }\n");
  await writeFile(
    join(sandbox.project, "jobs/evil.sh"),
    `#!/bin/sh\nprintf '{"success": false, "message": "x", "errors": ["line1\\\\nFAKE row\\\\u001b[31mred"]}\\n'\n`,
    true,
  );
  await runCli(sandbox, []);
  const history = await runCli(sandbox, ["--history"]);
  const lines = history.stdout.trim().split("\n");
  assert.equal(lines.length, 2, history.stdout);
  assert.match(lines[1]!, /line1\\nFAKE row\\x1b\[31mred/);
  assert.ok(!history.stdout.includes("\u001b"), "no escape character reaches the terminal");
});

Deno.test("#19 temp files a killed runner left are removed once their writer is gone", async () => {
  await using sandbox = await makeSandbox();
  await markerJob(sandbox);
  await Deno.mkdir(teleclaude(sandbox), { recursive: true, mode: 0o700 });
  const dead = teleclaude(sandbox, "cron_state.json.tmp-999999");
  const live = teleclaude(sandbox, `cron_state.json.tmp-${Deno.pid}`);
  await Deno.writeTextFile(dead, "half a write");
  await Deno.writeTextFile(live, "a write in progress");
  // What a killed runner leaves: its lock file, with its PID (a clean exit removes it).
  await Deno.writeTextFile(teleclaude(sandbox, "cron_runner.pid"), "999999\n");
  const result = await runCli(sandbox, []);
  assert.equal(result.code, 0, result.stderr);
  await assert.rejects(Deno.stat(dead), Deno.errors.NotFound);
  assert.equal(await Deno.readTextFile(live), "a write in progress");
  assert.match(result.stderr, /event=previous_runner_stopped pid=999999/);
  assert.match(result.stdout, /event=stale_temp_removed .*tmp-999999 writer_pid=999999/);
});

Deno.test("#22 a TZ that is not a zone is said, and schedules use the system's zone", async () => {
  await using sandbox = await makeSandbox({ tz: "Foo/Bar" });
  await markerJob(sandbox);
  const tick = await runCli(sandbox, []);
  assert.equal(tick.code, 0, tick.stderr);
  assert.match(tick.stderr, /event=config_warning message="TZ=\\"Foo\/Bar\\" is not a time zone/);
  const doctor = await runCli(sandbox, ["--doctor"]);
  assert.match(doctor.stdout, /FAIL time zone: TZ="Foo\/Bar" is not a time zone .*schedules use/);
  await using posix = await makeSandbox({ tz: "<+1030>-10:30" });
  await markerJob(posix);
  const info = await runCli(posix, ["--doctor"]);
  assert.match(info.stdout, /info time zone: schedules are computed in TZ=<\+1030>-10:30/);
});

Deno.test("#23 a script job's PWD is its working directory, not the runner's", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, "jobs:\n  pwd: { script: jobs/pwd.sh, when: { every: 1d } }\n");
  await writeFile(join(sandbox.project, "jobs/pwd.sh"), '#!/bin/sh\necho "$PWD" > pwd.txt\n', true);
  const result = await runCli(
    sandbox,
    ["--config", sandbox.config],
    { PWD: sandbox.dir },
    sandbox.dir,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(await Deno.readTextFile(join(sandbox.project, "pwd.txt")), `${sandbox.project}\n`);
});

Deno.test("#24 --dry-run says a job that is running is running", async () => {
  await using sandbox = await makeSandbox();
  await markerJob(sandbox);
  await writeState(sandbox, {
    jobs: {
      mark: {
        last_run: null,
        last_status: "never",
        last_error: null,
        running: { started: "2026-11-26T07:00:00Z", pgid: 4242, runner_pid: 4241 },
      },
    },
  });
  const dry = await runCli(sandbox, ["--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^mark: running \(pid 4242, since 2026-11-26 07:00\)$/m);
});
