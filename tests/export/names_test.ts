import assert from "node:assert/strict";
import {
  CONFIG_KEY,
  configMapKeys,
  cronJobBases,
  cronJobName,
  isDnsLabel,
  isLabelValue,
  jobLabel,
  MAX_CRONJOB_NAME,
  PART_ROOM,
} from "../../lib/export/names.ts";

const bases = (...names: string[]) =>
  Object.fromEntries(cronJobBases(names.map((name) => ({ name, parts: false }))));

Deno.test("cronJobBases() keeps a name that is already a DNS label and writes _ as -", () => {
  assert.deepEqual(bases("nightly", "morning_briefing", "a-b-c"), {
    nightly: "nightly",
    morning_briefing: "morning-briefing",
    "a-b-c": "a-b-c",
  });
});

Deno.test("cronJobBases(): a_b beside a-b gets a hash, a-b keeps its name, in either order", () => {
  const one = bases("a_b", "a-b");
  const other = bases("a-b", "a_b");
  assert.deepEqual(one, other);
  assert.equal(one["a-b"], "a-b");
  assert.match(one["a_b"]!, /^a-b-[0-9a-f]{8}$/);
  // Two names that both need the change share the readable form: both are hashed, apart.
  const both = bases("x_y-z", "x-y_z", "x__y");
  assert.match(both["x_y-z"]!, /^x-y-z-[0-9a-f]{8}$/);
  assert.match(both["x-y_z"]!, /^x-y-z-[0-9a-f]{8}$/);
  assert.notEqual(both["x_y-z"], both["x-y_z"]);
  assert.equal(both["x__y"], "x--y");
});

Deno.test("cronJobBases() makes every job name valid, short enough and unique", () => {
  const names = [
    "_",
    "-",
    "__x__",
    "-x-",
    "9",
    "a".repeat(52),
    "a".repeat(53),
    "a".repeat(100),
    `${"a".repeat(60)}_1`,
    `${"a".repeat(60)}_2`,
    `${"b_".repeat(50)}`,
  ];
  const found = bases(...names);
  for (const [name, base] of Object.entries(found)) {
    assert.ok(isDnsLabel(base, MAX_CRONJOB_NAME), `${name} -> ${base}`);
  }
  assert.equal(new Set(Object.values(found)).size, names.length);
  assert.equal(found["a".repeat(52)], "a".repeat(52));
  assert.equal(found["-x-"]!.length, "x-".length + 8);
  // Stable: the same job keeps its name however the config around it changes.
  assert.equal(bases("a".repeat(53), "other")["a".repeat(53)], found["a".repeat(53)]);
});

Deno.test("cronJobBases() keeps room for a part, so a job with several CronJobs stays within 52", () => {
  const base = cronJobBases([{ name: "a".repeat(52), parts: true }]).get("a".repeat(52))!;
  const longest = cronJobName(base, "2359");
  assert.ok(isDnsLabel(longest, MAX_CRONJOB_NAME), longest);
  assert.equal(PART_ROOM, "-2359".length);
  assert.equal(cronJobName("nightly", null), "nightly");
});

Deno.test("jobLabel() is the job's name when it is a label value, else its CronJob name base", () => {
  assert.equal(jobLabel("nightly_report", "nightly-report"), "nightly_report");
  assert.equal(jobLabel("_x", "x-1234abcd"), "x-1234abcd");
  assert.equal(jobLabel("a".repeat(64), "a-1"), "a-1");
  for (const label of ["nightly_report", "a.b", "A9"]) assert.ok(isLabelValue(label), label);
  for (const label of ["_x", "x-", "a".repeat(64)]) assert.ok(!isLabelValue(label), label);
});

Deno.test("configMapKeys() names files by their file name, and by path hash when names clash", () => {
  const paths = [
    "docs/project/spec/jobs/nightly.md",
    "docs/project/spec/jobs/team/nightly.md",
    "jobs/sync tool.sh",
    "teleclaude.yml",
    "jobs/..",
  ];
  const keys = configMapKeys(paths);
  assert.match(keys.get(paths[0]!)!, /^[0-9a-f]{8}\.nightly\.md$/);
  assert.match(keys.get(paths[1]!)!, /^[0-9a-f]{8}\.nightly\.md$/);
  assert.equal(keys.get("jobs/sync tool.sh"), "sync_tool.sh");
  assert.notEqual(keys.get("teleclaude.yml"), CONFIG_KEY);
  const all = [...keys.values(), CONFIG_KEY];
  assert.equal(new Set(all).size, all.length);
  for (const key of all) {
    assert.match(key, /^[-._a-zA-Z0-9]{1,253}$/);
    assert.ok(key !== "." && key !== "..", key);
  }
  assert.deepEqual([...configMapKeys([...paths].reverse())].sort(), [...keys].sort());
});
