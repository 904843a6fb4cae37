/**
 * The export's CronJobs against the real robfig/cron v3, the library the Kubernetes CronJob
 * controller computes every firing with: a small Go program of ours (robfig/next.go), built
 * offline from the library's source (Debian's golang-github-robfig-cron-dev, or v3.0.1 in Go's
 * module cache), walks a year of each exported schedule as the controller does. Every firing it
 * gives must be one the export claims: the schedule's wall-clock times, but for the firings its
 * notes name (skipped, run twice, stepped over, run at a time not set); no gap between two
 * firings may pass the CronJob's startingDeadlineSeconds; and where robfig stops for good the
 * export refuses. `.ci/run` installs Go and the library; where they are missing the test is
 * ignored, and says so in its name. Go reads the zone rules of the system, Deno those of its
 * ICU: the zones here have had the same rules for years.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/errors.ts";
import { type Exported, exportKubernetes } from "../../lib/export/kubernetes.ts";
import { findProgram } from "../../lib/subprocess.ts";
import { offsetAt, parseCron } from "../helpers/cron.ts";
import { cronJobs, type Document, OPTIONS, parseManifests } from "../helpers/kubernetes.ts";
import { makeSandbox, writeConfig } from "../helpers/sandbox.ts";

const DAY = 24 * 3600_000;
/** 2027, as the export's notes see it from its first day. */
const FROM = Date.UTC(2027, 0, 1);
const TO = FROM + 366 * DAY;

interface Robfig {
  go: string;
  /** The library's source directory, its go.mod naming github.com/robfig/cron/v3. */
  source: string;
  version: string;
}

/** Go and robfig/cron v3's source: Debian's copy, else v3.0.1 in Go's module cache. */
function findRobfig(): Robfig | null {
  const go = findProgram("go", Deno.env.get("PATH") ?? "");
  if (go === null) return null;
  const candidates: [string, () => string][] = [
    ["/usr/share/gocode/src/github.com/robfig/cron", () => debianVersion()],
    [join(goEnv(go, "GOMODCACHE"), "github.com/robfig/cron/v3@v3.0.1"), () => "v3.0.1"],
  ];
  for (const [source, version] of candidates) {
    try {
      const module = Deno.readTextFileSync(join(source, "go.mod"));
      if (/^module github\.com\/robfig\/cron\/v3$/m.test(module)) {
        return { go, source, version: version() };
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return null;
}

function goEnv(go: string, name: string): string {
  const output = new Deno.Command(go, { args: ["env", name], stderr: "null" }).outputSync();
  return new TextDecoder().decode(output.stdout).trim();
}

function debianVersion(): string {
  try {
    const output = new Deno.Command("dpkg-query", {
      args: ["-W", "-f=${Version}", "golang-github-robfig-cron-dev"],
      stderr: "null",
    }).outputSync();
    return `Debian ${new TextDecoder().decode(output.stdout).trim()}`;
  } catch {
    return "Debian's copy";
  }
}

const ROBFIG = findRobfig();
const NO_ROBFIG = ROBFIG ? "" : " (IGNORED: no go or robfig/cron v3 source; .ci/run installs them)";

/** The Go program built against the library, in `dir`; its path. */
async function buildNext(robfig: Robfig, dir: string): Promise<string> {
  await Deno.copyFile(new URL("./robfig/next.go", import.meta.url), join(dir, "next.go"));
  await Deno.writeTextFile(
    join(dir, "go.mod"),
    "module robfignext\n\ngo 1.19\n\nrequire github.com/robfig/cron/v3 v3.0.1\n\n" +
      `replace github.com/robfig/cron/v3 => ${robfig.source}\n`,
  );
  const home = Deno.env.get("HOME") ?? dir;
  const cache = Deno.env.get("XDG_CACHE_HOME") || join(home, ".cache");
  const output = await new Deno.Command(robfig.go, {
    args: ["build", "-o", "next", "."],
    cwd: dir,
    clearEnv: true,
    // Offline, the replace above is the only module; nothing outside dir and the cache is written.
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      GOCACHE: join(cache, "teleclaude-cron/go-build"),
      GOPATH: join(dir, "gopath"),
      GOPROXY: "off",
      GOFLAGS: "-mod=mod",
      GO111MODULE: "on",
      GOTOOLCHAIN: "local",
      GOTELEMETRY: "off",
      GOENV: "off",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return join(dir, "next");
}

/** What the real library does with each `TZ=zone schedule`: its firings, and where it stalls. */
async function robfigFirings(
  next: string,
  schedules: string[],
): Promise<{ firings: number[]; stall: number | null }[]> {
  const output = await new Deno.Command(next, {
    args: [String(FROM / 1000), String(TO / 1000), ...schedules],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).split("\n").slice(0, schedules.length)
    .map((line) => {
      const words = line.trim().split(" ").filter((word) => word !== "");
      const at = words.indexOf("stall");
      const firings = (at === -1 ? words : words.slice(0, at)).map((word) => Number(word) * 1000);
      return { firings, stall: at === -1 ? null : Number(words[at + 1]) * 1000 };
    });
}

/** The jobs every zone is exported with: times on both sides of every change, and day fields. */
const TIMES = [
  "00:00",
  "00:15",
  "00:45",
  "01:30",
  "01:45",
  "02:00",
  "02:15",
  "02:30",
  "02:45",
  "03:00",
  "03:15",
  "03:30",
  "04:00",
  "12:15",
  "23:30",
];
const OTHER_JOBS = `
  weekly_sun:
    script: date
    schedule: weekly
    preferred_weekday: 6
    preferred_hour: 2
  sunday_midnight:
    script: date
    when: { at: "00:00", weekdays: [sun] }
  monthly_first:
    script: date
    schedule: monthly
    preferred_day: 1
    preferred_hour: 0
  office:
    script: date
    when: { at: ["07:30", "13:30"], weekdays: [mon, tue, wed, thu, fri] }
  default_daily:
    script: date
`;

function configText(times: string[]): string {
  const daily = times.map((time) =>
    `  at_${time.replace(":", "")}:\n    script: date\n    when: { at: "${time}" }\n`
  );
  return `jobs:\n${daily.join("")}${OTHER_JOBS}`;
}

/** A difference the export's notes claim: a job, a local date and time, and what differs. */
interface Claim {
  job: string;
  date: string;
  time: string;
  change: "skipped" | "repeated" | "later" | "dropped" | "extra";
}

const CLAIMS: [RegExp, Claim["change"]][] = [
  [/^jobs\.(\S+): (\d\d:\d\d) does not occur in \S+ on (\S+) /, "skipped"],
  [/^jobs\.(\S+): (\d\d:\d\d) occurs twice in \S+ on (\S+) .*runs the job twice/, "repeated"],
  [/^jobs\.(\S+): (\d\d:\d\d) occurs twice in \S+ on (\S+) .*runs the job the second/, "later"],
  [/^jobs\.(\S+): Kubernetes skips the run at (\d\d:\d\d) on (\S+) in /, "dropped"],
  [/^jobs\.(\S+): Kubernetes also runs the job at (\d\d:\d\d) on (\S+) in /, "extra"],
];

/** The notes about clock changes, read back; every such note must be one of the kinds above. */
function claimsOf(notes: string[]): Claim[] {
  return notes.filter((note) => !note.endsWith("it must be on the image's PATH")).map((note) => {
    for (const [pattern, change] of CLAIMS) {
      const match = pattern.exec(note);
      if (match) return { job: match[1]!, time: match[2]!, date: match[3]!, change };
    }
    assert.fail(`a note the test cannot read: ${note}`);
  });
}

/** An instant's wall clock in `zone`, `2027-04-04 02:45`, as Intl (not lib/) says. */
function wallKey(instant: number, zone: string): string {
  return keyOf(instant + offsetAt(instant, zone));
}

/** The wall clock a UTC date holds, in `wallKey`'s form. */
function keyOf(wall: number): string {
  return new Date(wall).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * Every instant of the year whose wall clock in `zone` matches `expression` (parsed by
 * tests/helpers/cron.ts, offsets from Intl by it too: nothing of lib/): a time the clocks repeat
 * twice, one they skip never.
 */
function wallClockInstants(expression: string, zone: string): number[] {
  const cron = parseCron(expression);
  const instants = new Set<number>();
  for (let day = FROM - DAY; day < TO + DAY; day += DAY) {
    const date = new Date(day);
    const byMonthDay = cron.dayOfMonth.has(date.getUTCDate());
    const byWeekday = cron.dayOfWeek.has(date.getUTCDay());
    const anyDay = cron.anyDayOfMonth || cron.anyDayOfWeek;
    if (!(anyDay ? byMonthDay && byWeekday : byMonthDay || byWeekday)) continue;
    if (!cron.month.has(date.getUTCMonth() + 1)) continue;
    for (const hour of cron.hour) {
      for (const minute of cron.minute) {
        const wall = day + (hour * 60 + minute) * 60_000;
        // Offsets run from -12 to +14 hours: the instant is the wall less the offset in force
        // at one end of that span or the other.
        for (const near of [wall - 14 * 3600_000, wall + 12 * 3600_000]) {
          const instant = wall - offsetAt(near, zone);
          if (instant >= FROM && instant < TO && offsetAt(instant, zone) === wall - instant) {
            instants.add(instant);
          }
        }
      }
    }
  }
  return [...instants].sort((a, b) => a - b);
}

/**
 * The firings the export claims for a CronJob: every instant whose wall clock matches its
 * schedule, a time the clocks repeat the first time only unless a note says otherwise, less the ones it says are stepped over, plus the ones
 * it says are run at a time not set.
 */
function claimedFirings(expression: string, zone: string, claims: Claim[]): number[] {
  const change = new Map(claims.map((claim) => [`${claim.date} ${claim.time}`, claim.change]));
  const byWall = new Map<string, number[]>();
  for (const instant of wallClockInstants(expression, zone)) {
    const key = wallKey(instant, zone);
    byWall.set(key, [...byWall.get(key) ?? [], instant]);
  }
  const firings: number[] = [];
  for (const [key, instants] of byWall) {
    const claimed = change.get(key);
    if (claimed === "dropped") continue;
    if (claimed === "repeated") firings.push(...instants);
    else firings.push(claimed === "later" ? instants.at(-1)! : instants[0]!);
  }
  for (const claim of claims.filter((one) => one.change === "extra")) {
    const [hour, minute] = claim.time.split(":").map(Number);
    const [, month, day] = claim.date.split("-").map(Number);
    const at = wallClockInstants(`${minute} ${hour} ${day} ${month} *`, zone);
    assert.equal(at.length, 1, `${claim.date} ${claim.time} in ${zone}`);
    firings.push(at[0]!);
  }
  return firings.sort((a, b) => a - b);
}

/** A zone's export, in process, from 1 January 2027; or the config error it stops with. */
async function exportIn(zone: string, times: string[]): Promise<Exported | ConfigError> {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, configText(times));
  const { config } = await loadConfig(sandbox.config, null);
  try {
    return exportKubernetes(config, { ...OPTIONS, tz: zone, now: FROM });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

const ZONES = [
  "Australia/Lord_Howe",
  "Antarctica/Troll",
  "Pacific/Chatham",
  "Asia/Beirut",
  "America/Santiago",
  "Europe/Amsterdam",
  "America/New_York",
  "Europe/London",
  "Asia/Tokyo",
];

Deno.test({
  name:
    `robfig/cron v3 fires every exported CronJob where the export claims, for a year in ${ZONES.length} zones${NO_ROBFIG}`,
  ignore: ROBFIG === null,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "tc-robfig-" });
    try {
      const next = await buildNext(ROBFIG!, dir);
      for (const zone of ZONES) {
        await t.step(`${zone} (robfig/cron ${ROBFIG!.version})`, async () => {
          // In Pacific/Chatham robfig stops for good at a time from 03:45 (tested below).
          const times = TIMES.filter((time) => zone !== "Pacific/Chatham" || time < "03:45");
          const exported = await exportIn(zone, times);
          assert.ok(!(exported instanceof ConfigError), String(exported));
          const documents = parseManifests(exported.yaml) as Document[];
          await compareWithRobfig(next, zone, documents, exported.notes);
        });
      }
      await t.step(
        "a schedule robfig would stop firing for good is refused at its place",
        async () => {
          const [real] = await robfigFirings(next, ["TZ=Pacific/Chatham 45 3 * * *"]);
          assert.equal(wallKey(real!.stall!, "Pacific/Chatham"), "2027-04-04 02:45");
          const refused = await exportIn("Pacific/Chatham", ["03:45"]);
          assert.ok(refused instanceof ConfigError);
          assert.match(
            refused.message,
            /:4:17: jobs\.at_0345\.when\.at: the CronJob would stop for good at 02:45 on 2027-04-04 in Pacific\/Chatham: /,
          );
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Each CronJob's firings by the real library against the export's claims and deadline. */
async function compareWithRobfig(
  next: string,
  zone: string,
  documents: Document[],
  notes: string[],
): Promise<void> {
  const claims = claimsOf(notes);
  const all = [...cronJobs(documents).values()].filter((cronJob) => !cronJob.spec.suspend);
  const real = await robfigFirings(
    next,
    all.map((cronJob) => `TZ=${cronJob.spec.timeZone} ${cronJob.spec.schedule}`),
  );
  for (const [index, cronJob] of all.entries()) {
    const job: string = cronJob.metadata.annotations["teleclaude.ai/job"];
    const { firings, stall } = real[index]!;
    const mine = claims.filter((claim) => claim.job === job);
    const what = `${job} (${cronJob.spec.schedule}) in ${zone}`;
    assert.equal(stall, null, what);
    const iso = (instants: number[]) => instants.map((instant) => wallKey(instant, zone));
    assert.deepEqual(iso(firings), iso(claimedFirings(cronJob.spec.schedule, zone, mine)), what);
    // A firing held back (controller down, the previous run still going) starts until the next,
    // unless the next is the one after a firing the controller skips or steps over (noted).
    const dropped = mine.filter((claim) => claim.change === "dropped" || claim.change === "skipped")
      .map((claim) => `${claim.date} ${claim.time}`);
    for (let at = 1; at < firings.length; at++) {
      const [before, after] = iso([firings[at - 1]!, firings[at]!]) as [string, string];
      if (dropped.some((key) => before < key && key < after)) continue;
      const gap = (firings[at]! - firings[at - 1]!) / 1000;
      assert.ok(gap <= cronJob.spec.startingDeadlineSeconds, `${what}: ${gap} s after ${before}`);
    }
  }
}
