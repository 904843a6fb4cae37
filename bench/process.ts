/**
 * Whole-process figures, each against a baseline measured in the same run (absolute times on a
 * shared machine are noise):
 *   1. the idle tick (60 jobs, none due) as launchd runs it, vs `deno run` of an empty script;
 *      also through `deno task cron`, as the source form init.sh installs where there is no
 *      denort (its launcher, `deno run` of a stamped copy), and with the config cache cold;
 *   2. --list --json over 2,000 jobs vs 200 (per-job cost, linearity);
 *   3. the runner's overhead on a /bin/true script job vs spawning /bin/true directly (in process);
 *   4. stop latency: deadline to the whole group gone, for a child that exits on SIGTERM.
 *   5. peak memory while a job prints 1 GB; 6. config parse by number of jobs;
 *   7. lanes: 12 script jobs of 1 s each, one at a time vs `cron.concurrency: 4`.
 * Usage: deno task bench   (or: deno run --allow-all bench/process.ts [--runs N] [--against DIR])
 * `--against DIR`: the idle tick of another tree (a checkout of main) measured in the same rounds.
 */

// deno-lint-ignore-file no-console -- a benchmark's job is to print its figures.

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runDueJobs } from "../lib/cli/tick.ts";
import { type Config, DEFAULT_NOTIFY, DEFAULT_SCRIPT_RETRY } from "../lib/config/job.ts";
import { loadConfig } from "../lib/config/load.ts";
import { runnerPaths } from "../lib/paths.ts";
import { runProcess } from "../lib/process/spawn.ts";
import { acquireRunnerLock, isHeld } from "../lib/store/lock.ts";
import { saveState } from "../lib/store/state.ts";
import { mixedConfigYaml } from "./fixtures.ts";

const ROOT = join(import.meta.dirname!, "..");
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "15" }, against: { type: "string" } },
});
const RUNS = Number(values.runs);
const AGAINST = values.against ?? null;

const work = await Deno.makeTempDir({ prefix: "tc-cron-bench-" });
const home = join(work, "home");
await Deno.mkdir(home);
const denoDir = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output()).stdout,
  ),
).denoDir as string;
const env = {
  HOME: home,
  PATH: "/usr/bin:/bin",
  TZ: "UTC",
  DENO_DIR: denoDir,
  TELECLAUDE_API_SOCKET: join(work, "api.sock"),
  NO_COLOR: "1",
};
const flags = new TextDecoder().decode(
  (await new Deno.Command("sh", {
    args: [join(ROOT, "scripts/permission-flags.sh")],
    env,
    clearEnv: true,
    stdout: "piped",
  }).output()).stdout,
).trim().split("\n");

/**
 * The source form as init.sh installs it: a stamped copy of this tree (scripts/stage.ts) and its
 * launcher (scripts/launcher.sh), in this benchmark's HOME. Returns the launcher's path.
 */
async function sourceForm(): Promise<string> {
  const runtimes = join(home, ".teleclaude/runtime");
  const staged = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-config",
      "--allow-read",
      `--allow-write=${runtimes}`,
      join(ROOT, "scripts/stage.ts"),
      "source",
      runtimes,
    ],
    stdout: "piped",
  }).output();
  const runtime = new TextDecoder().decode(staged.stdout).trim().split(" ").slice(2).join(" ");
  const text = await new Deno.Command("sh", {
    args: [join(ROOT, "scripts/launcher.sh"), runtime, Deno.execPath(), denoDir],
    env,
    clearEnv: true,
    stdout: "piped",
  }).output();
  if (!staged.success || !text.success) throw new Error("the source form could not be made");
  const path = join(home, ".teleclaude/bin/teleclaude-cron");
  await Deno.mkdir(join(home, ".teleclaude/bin"), { recursive: true });
  await Deno.writeFile(path, text.stdout, { mode: 0o700 });
  return path;
}

interface Sample {
  ms: number;
  maxRssKiB: number | null;
}

/** Runs a command under /usr/bin/time (for peak memory) and returns wall time and max RSS. */
async function measure(
  command: string,
  args: string[],
  cwd = ROOT,
  extraEnv: Record<string, string> = {},
): Promise<Sample> {
  const linux = Deno.build.os === "linux";
  const timeArgs = linux ? ["-f", "maxrss_kib=%M", command, ...args] : ["-l", command, ...args];
  const started = performance.now();
  const output = await new Deno.Command("/usr/bin/time", {
    args: timeArgs,
    cwd,
    env: { ...env, ...extraEnv },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - started;
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed:\n${stderr}`);
  const rss = linux
    ? /maxrss_kib=(\d+)/.exec(stderr)?.[1]
    : /(\d+)\s+maximum resident set size/.exec(stderr)?.[1];
  return { ms, maxRssKiB: rss ? (linux ? Number(rss) : Number(rss) / 1024) : null };
}

type Figure = { ms: number; mib: number | null };

/** A command to measure: program, arguments, and optionally its directory and environment. */
type Measured = [string, string[], string?, Record<string, string>?];

/**
 * Measures several commands round-robin, `runs` times each after a warm-up, so that a change in
 * the machine's load during the run touches all of them alike. Median time, peak memory.
 */
async function interleaved(commands: Measured[], runs = RUNS): Promise<Figure[]> {
  const samples: Sample[][] = commands.map(() => []);
  for (const [command, args, cwd, extra] of commands) await measure(command, args, cwd, extra);
  for (let run = 0; run < runs; run++) {
    for (const [index, [command, args, cwd, extra]] of commands.entries()) {
      samples[index]!.push(await measure(command, args, cwd, extra));
    }
  }
  return samples.map((list) => {
    const times = list.map((sample) => sample.ms).sort((a, b) => a - b);
    const rss = list.map((sample) => sample.maxRssKiB).filter((value): value is number =>
      value !== null
    );
    return {
      ms: times[Math.floor(times.length / 2)]!,
      mib: rss.length ? Math.max(...rss) / 1024 : null,
    };
  });
}

/** One command on its own. */
async function series(command: string, args: string[], runs = RUNS): Promise<Figure> {
  return (await interleaved([[command, args]], runs))[0]!;
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const mib = (value: number | null) => value === null ? "n/a" : `${fmt(value)} MiB`;

/**
 * The idle tick of another tree (`--against`), in a HOME of its own holding the same state, its
 * config cache made as after an install: measured beside this tree's in the same rounds.
 */
async function againstTick(dir: string): Promise<Measured> {
  const otherHome = join(work, "against-home");
  await Deno.mkdir(join(otherHome, ".teleclaude"), { recursive: true, mode: 0o700 });
  const state = ".teleclaude/cron_state.json";
  await Deno.copyFile(join(home, state), join(otherHome, state));
  const otherEnv = { ...env, HOME: otherHome };
  const otherFlags = new TextDecoder().decode(
    (await new Deno.Command("sh", {
      args: [join(dir, "scripts/permission-flags.sh")],
      env: otherEnv,
      clearEnv: true,
      stdout: "piped",
    }).output()).stdout,
  ).trim().split("\n");
  const args = ["run", "--quiet", ...otherFlags, join(dir, "main.ts"), "--config", config];
  await measure(Deno.execPath(), args, dir, { HOME: otherHome });
  return [Deno.execPath(), args, dir, { HOME: otherHome }];
}

// 1. Idle tick.
const config = join(work, "teleclaude.yml");
await Deno.writeTextFile(config, mixedConfigYaml(60));
const now = new Date().toISOString();
const jobNames = Array.from({ length: 60 }, (_, index) => `job_${index}`);
saveState(join(home, ".teleclaude/cron_state.json"), {
  jobs: Object.fromEntries(
    jobNames.map((name) => [name, { last_run: now, last_status: "success", last_error: null }]),
  ),
});
const empty = join(work, "empty.ts");
await Deno.writeTextFile(empty, "");

// The same empty script inside the project: deno.json, the import map and deno.lock (with its npm
// packages) are read at start. A compiled binary has none of this.
const projectEmpty = join(ROOT, `.bench-empty-${Deno.pid}.ts`);
await Deno.writeTextFile(projectEmpty, "");

const tickArgs = ["run", "--quiet", ...flags, join(ROOT, "main.ts"), "--config", config];
const launcher = await sourceForm();
// As after an install: the first tick parses the config, which gives V8 the time to write its
// code cache for the runner's modules (short ticks end before it would).
await Deno.remove(join(home, ".teleclaude/cache"), { recursive: true }).catch(() => {});
await measure(Deno.execPath(), tickArgs);
await measure(launcher, ["--config", config]);
const against = AGAINST === null ? null : await againstTick(AGAINST);
const [floor, projectFloor, tick, task, sourceTick, againstFigure] = await interleaved([
  [Deno.execPath(), ["run", "--quiet", empty]],
  [Deno.execPath(), ["run", "--quiet", projectEmpty]],
  [Deno.execPath(), tickArgs],
  [Deno.execPath(), ["task", "--quiet", "cron", "--config", config]],
  [launcher, ["--config", config]],
  ...(against ? [against] : []),
]) as [Figure, Figure, Figure, Figure, Figure, Figure?];
await Deno.remove(projectEmpty);
const cache = join(home, ".teleclaude/cache");
const cold: Sample[] = [];
for (let run = 0; run < 5; run++) {
  await Deno.remove(cache, { recursive: true }).catch(() => {});
  cold.push(await measure(Deno.execPath(), tickArgs));
}
const coldTick = {
  ms: cold.map((sample) => sample.ms).sort((a, b) => a - b)[2]!,
  mib: Math.max(...cold.map((sample) => sample.maxRssKiB ?? 0)) / 1024,
};

/** One line of the idle-tick table: time, memory and the ratio to the floor. */
const tickRow = (label: string, figure: { ms: number; mib: number | null }, note = "") =>
  console.log(
    `   ${label.padEnd(34)} ${fmt(figure.ms)} ms  ${mib(figure.mib)}   ${
      fmt(figure.ms / floor.ms, 2)
    }x floor${note ? `   (${note})` : ""}`,
  );
console.log("1. idle tick (60 jobs, none due)");
tickRow("floor: deno run empty.ts", floor);
tickRow(
  "deno run empty.ts in the project",
  projectFloor,
  "deno.json, import map, deno.lock read at start",
);
tickRow("runner, production flags", tick, "target ≤ 1.3x, < 40 MiB");
tickRow("deno task cron", task);
tickRow("the source form's launcher", sourceTick, `${fmt(sourceTick.ms / tick.ms, 2)}x deno run`);
tickRow("runner, config cache cold", coldTick, "parses YAML + zod");
if (againstFigure) {
  tickRow(
    `runner of ${AGAINST}`,
    againstFigure,
    `this tree ${fmt(tick.ms / againstFigure.ms, 3)}x that one`,
  );
}

// 2. --list --json at scale.
const big = join(work, "big.yml");
const small = join(work, "small.yml");
await Deno.writeTextFile(big, mixedConfigYaml(2000));
await Deno.writeTextFile(small, mixedConfigYaml(200));
// The views read the cache but never write it: the ticks would have, for a config in use.
const cacheOptions = {
  root: join(home, ".teleclaude"),
  dir: join(home, ".teleclaude/cache"),
  write: true,
};
await loadConfig(big, cacheOptions);
await loadConfig(small, cacheOptions);
const listArgs = (
  file: string,
) => ["run", "--quiet", ...flags, join(ROOT, "main.ts"), "--config", file, "--list", "--json"];
const list200 = await series(Deno.execPath(), listArgs(small), 7);
const list2000 = await series(Deno.execPath(), listArgs(big), 7);
const perJob = (list2000.ms - list200.ms) / 1800;
console.log("2. --list --json (config cached)");
console.log(
  `   200 jobs ${fmt(list200.ms)} ms, 2000 jobs ${fmt(list2000.ms)} ms: ${
    fmt(perJob * 1000, 0)
  } µs per added job`,
);

// 3. Job overhead, in process: lock + runner (spawn, log capture, state and history writes) around
// a /bin/true script job, against spawning /bin/true directly. Loading the job modules is a
// once-per-tick cost and is left out (it shows in the whole-process figures above).
const overheadHome = join(work, "overhead-home");
const quiet = { info() {}, warn() {}, error() {}, debug() {}, raw() {} };
const noop: Config = {
  file: join(work, "noop.yml"),
  displayName: "noop.yml",
  dir: work,
  agents: {},
  cron: {
    notify: { ...DEFAULT_NOTIFY, desktop: false, daemon: false },
    metricsFile: null,
    budget: {},
  },
  warnings: [],
  jobs: [{
    name: "noop",
    type: "script",
    command: ["/bin/true"],
    discovered: false,
    schedule: { kind: "every", minutes: 5 },
    maxLogBytes: null,
    computers: null,
    notify: null,
    timeoutSeconds: 60,
    idleTimeoutSeconds: 0,
    enabled: true,
    jitterMinutes: 0,
    retry: { ...DEFAULT_SCRIPT_RETRY },
  }],
};
const runnerOptions = {
  config: noop,
  force: true,
  only: null,
  timeZone: "local",
  computer: () => "bench",
  socketPath: join(work, "api.sock"),
  graceMs: 1000,
  log: quiet,
  stop: new AbortController().signal,
};
/** One forced tick of the no-op job through a runner's `runDueJobs`, under the lock. */
const throughRunner = (run: typeof runDueJobs, home: string) => {
  const paths = runnerPaths(home);
  const options = { ...runnerOptions, paths };
  return async () => {
    const lock = acquireRunnerLock(paths.lock);
    if (!isHeld(lock)) throw new Error("lock busy");
    await run(options);
    lock.release();
  };
};
const timeIt = async (fns: (() => Promise<unknown>)[], runs: number) => {
  for (const fn of fns) await fn();
  const samples: number[][] = fns.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [index, fn] of fns.entries()) {
      const started = performance.now();
      await fn();
      samples[index]!.push(performance.now() - started);
    }
  }
  return samples.map((list) => list.sort((a, b) => a - b)[Math.floor(runs / 2)]!);
};
// With --against, the other tree's runner in the same process, round for round.
const theirs = AGAINST === null ? [] : [throughRunner(
  (await import(pathToFileURL(join(AGAINST, "lib/cli/tick.ts")).href)).runDueJobs,
  join(work, "overhead-against-home"),
)];
const [directMs, runnerMs, againstMs] = await timeIt([
  () => new Deno.Command("/bin/true").output(),
  throughRunner(runDueJobs, overheadHome),
  ...theirs,
], 41) as [number, number, number?];
console.log(
  "3. job overhead (/bin/true through lock + runner: spawn, log capture, state + history writes)",
);
console.log(
  `   /bin/true spawned directly ${fmt(directMs)} ms, through the runner ${fmt(runnerMs)} ms`,
);
console.log(`   added by the runner: ${fmt(runnerMs - directMs)} ms per job   (target < 15 ms)`);
if (againstMs !== undefined) {
  console.log(`   the runner of ${AGAINST}: ${fmt(againstMs - directMs)} ms per job`);
}

// 4. Stop latency.
const latencies: number[] = [];
for (let run = 0; run < 10; run++) {
  const timeoutMs = 100;
  const started = performance.now();
  const result = await runProcess({
    command: "sh",
    args: ["-c", "sleep 60 & wait"],
    cwd: work,
    env: {},
    stdin: null,
    logPath: join(work, "stop.log"),
    maxLogBytes: 1024 * 1024,
    timeoutMs,
    graceMs: 5000,
    idleTimeoutMs: 0,
  });
  if (result.kind !== "timed-out") throw new Error(`expected a timeout, got ${result.kind}`);
  latencies.push(performance.now() - started - timeoutMs);
}
latencies.sort((a, b) => a - b);
console.log("4. stop latency (deadline → whole group gone, child exits on SIGTERM)");
console.log(`   median ${fmt(latencies[5]!)} ms, max ${fmt(latencies[9]!)} ms   (target < 100 ms)`);

// 5. Memory while a job prints 1 GB: the output is written as it comes, never buffered. An agent
// job's stdout is also read line by line for its events, so it is measured on what is hardest for
// that: random bytes (lines of every length, an occasional `{`) and large valid events.
await Deno.mkdir(join(work, "docs/project/spec/jobs"), { recursive: true });
await Deno.writeTextFile(join(work, "docs/project/spec/jobs/loud.md"), "Print.\n");
const fakeClaude = join(work, "loud-claude");
await Deno.writeTextFile(
  fakeClaude,
  // What it prints, then claude's final word, so the run is a success like any other.
  '#!/bin/sh\ncat > /dev/null\nsh -c "$LOUD"\necho\n' +
    `echo '{"type":"result","subtype":"success","is_error":false,"result":"done","num_turns":1}'\n`,
);
await Deno.chmod(fakeClaude, 0o755);
const events64k = `awk 'BEGIN { s = "x"; for (i = 0; i < 16; i++) s = s s; while (1) ` +
  `printf "{\\"type\\":\\"assistant\\",\\"message\\":{\\"content\\":[{\\"type\\":` +
  `\\"text\\",\\"text\\":\\"%s\\"}]}}\\n", s }' | head -c 1000000000`;
const loudJobs: [string, string, string][] = [
  ["a script job printing 1 GB of zeros", "script", "head -c 1000000000 /dev/zero"],
  ["a script job printing 1 GB of random bytes", "script", "head -c 1000000000 /dev/urandom"],
  ["an agent job printing 1 GB of random bytes", "agent", "head -c 1000000000 /dev/urandom"],
  ["an agent job printing 1 GB of 64 KiB events", "agent", events64k],
];
console.log(
  "5. runner peak memory while a job prints 1 GB (its log capped at 10 MiB; median of 3)",
);
for (const [label, type, print] of loudJobs) {
  const loudConfig = join(work, "loud.yml");
  const job = type === "script"
    ? `{ script: [sh, -c, ${JSON.stringify(print)}], timeout: 600 }`
    : "{ job: loud, timeout: 600 }";
  await Deno.writeTextFile(
    loudConfig,
    `agents: { claude: { binary: ${JSON.stringify(fakeClaude)} } }\njobs:\n  loud: ${job}\n`,
  );
  const loudArgs = ["run", "--quiet", ...flags, join(ROOT, "main.ts"), "--config", loudConfig];
  const loudRuns = [];
  // The first run compiles the job path (and writes V8's code cache): not the steady state.
  for (let run = 0; run < 4; run++) {
    const sample = await measure(Deno.execPath(), [...loudArgs, "--force"], ROOT, { LOUD: print });
    if (run > 0) loudRuns.push(sample);
  }
  const loud = loudRuns.sort((a, b) => (a.maxRssKiB ?? 0) - (b.maxRssKiB ?? 0))[1]!;
  console.log(
    `   ${label.padEnd(46)} ${fmt(loud.ms / 1000, 1)} s, peak ${
      mib(loud.maxRssKiB === null ? null : loud.maxRssKiB / 1024)
    }   (target < 80 MiB)`,
  );
}

// 6. Parsing scales linearly with the number of jobs (a cold cache: YAML + zod, in process).
const { parseConfig } = await import("../lib/config/parse.ts");
const parseMs = (jobs: number) => {
  const text = mixedConfigYaml(jobs);
  const started = performance.now();
  parseConfig(text, { displayName: "bench.yml", file: join(work, "bench.yml") });
  return performance.now() - started;
};
parseMs(500);
const sizes = [5000, 10000, 20000, 40000];
const parsed = sizes.map((jobs) => [jobs, parseMs(jobs)] as const);
console.log("6. config parse (YAML + zod) by number of jobs");
console.log(
  `   ${
    parsed.map(([jobs, ms]) => `${jobs}: ${fmt(ms, 0)} ms (${fmt(ms * 1000 / jobs, 0)} µs/job)`)
      .join(", ")
  }`,
);
console.log(
  `   ×${fmt(parsed[3]![1] / parsed[0]![1], 1)} the time for ×8 the jobs   (linear: about ×8)`,
);

// 7. Lanes: twelve script jobs of one second each, forced, through the whole runner.
const lanesTick = async (concurrency: number) => {
  const file = join(work, `lanes-${concurrency}.yml`);
  const jobs = Array.from({ length: 12 }, (_, index) => `  sleep_${index}: { script: sleep 1 }\n`);
  await Deno.writeTextFile(file, `cron:\n  concurrency: ${concurrency}\njobs:\n${jobs.join("")}`);
  const args = ["run", "--quiet", ...flags, join(ROOT, "main.ts"), "--config", file, "--force"];
  return await measure(Deno.execPath(), args);
};
const inTurn = await lanesTick(1);
const inLanes = await lanesTick(4);
console.log("7. lanes: 12 script jobs of 1 s each, forced (one run each, the same minute)");
console.log(
  `   one at a time ${fmt(inTurn.ms / 1000, 2)} s, cron.concurrency: 4 ${
    fmt(inLanes.ms / 1000, 2)
  } s: ${fmt(inTurn.ms / inLanes.ms, 2)}x faster   (about 12 s against 3 s: 4x)`,
);

await Deno.remove(work, { recursive: true });
