/**
 * Jobs pinned to computers: one config read by several computers' runners, each running only its
 * own jobs and the unpinned ones. The computers here are two sandboxes (each its own HOME, as
 * each machine has its own state) named by TELECLAUDE_COMPUTER.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { computerOnce, runsOn, thisComputer } from "../lib/computer.ts";
import { makeSandbox, runCli, type Sandbox, writeConfig, writeFile } from "./helpers/sandbox.ts";

const CONFIG = `jobs:
  backup: { script: jobs/mark.sh backup, computer: mini, when: { every: 1d } }
  photos: { script: jobs/mark.sh photos, computer: [Laptop, desk], when: { every: 1d } }
  everywhere: { script: jobs/mark.sh everywhere, when: { every: 1d } }
`;

/** A computer reading CONFIG: its jobs append "<job> <computer>" to ran.txt in its project. */
async function computer(): Promise<Sandbox> {
  const sandbox = await makeSandbox();
  await writeConfig(sandbox, CONFIG);
  await writeFile(
    join(sandbox.project, "jobs/mark.sh"),
    '#!/bin/sh\necho "$1 $TELECLAUDE_COMPUTER" >> ran.txt\n',
    true,
  );
  return sandbox;
}

async function ran(sandbox: Sandbox): Promise<string[]> {
  try {
    return (await Deno.readTextFile(join(sandbox.project, "ran.txt"))).trim().split("\n");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

Deno.test("each pinned job runs on exactly its computer; unpinned jobs run on every one", async () => {
  await using mini = await computer();
  await using laptop = await computer();
  const asMini = { TELECLAUDE_COMPUTER: "mini" };
  const asLaptop = { TELECLAUDE_COMPUTER: "laptop" }; // names compare ignoring case
  assert.equal((await runCli(mini, [], asMini)).code, 0);
  assert.equal((await runCli(laptop, [], asLaptop)).code, 0);
  assert.deepEqual(await ran(mini), ["backup mini", "everywhere mini"]);
  assert.deepEqual(await ran(laptop), ["photos laptop", "everywhere laptop"]);

  // A plain --force forces schedules, not computers.
  assert.equal((await runCli(laptop, ["--force"], asLaptop)).code, 0);
  assert.deepEqual((await ran(laptop)).slice(2), ["photos laptop", "everywhere laptop"]);
  // Naming the job is a person's choice to run it here.
  assert.equal((await runCli(laptop, ["--force", "--job", "backup"], asLaptop)).code, 0);
  assert.deepEqual((await ran(laptop)).slice(4), ["backup laptop"]);
  // Naming it without --force leaves it to its computer; with --force it runs here.
  assert.equal((await runCli(mini, ["--job", "photos"], asMini)).code, 0);
  assert.deepEqual((await ran(mini)).slice(2), []);
  assert.equal((await runCli(mini, ["--job", "photos", "--force"], asMini)).code, 0);
  assert.deepEqual((await ran(mini)).slice(2), ["photos mini"]);
});

Deno.test("--list and --dry-run show where a pinned job runs", async () => {
  await using laptop = await computer();
  const env = { TELECLAUDE_COMPUTER: "laptop" };
  const list = await runCli(laptop, ["--list", "--json"], env);
  const rows = JSON.parse(list.stdout) as { name: string; schedule: string; flags: string[] }[];
  const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
  assert.equal(byName.backup!.schedule, "every 1d on mini");
  assert.deepEqual(byName.backup!.flags, ["not this computer (laptop)"]);
  assert.equal(byName.photos!.schedule, "every 1d on Laptop, desk");
  assert.deepEqual(byName.photos!.flags, []);
  const dry = await runCli(laptop, ["--dry-run"], env);
  assert.match(
    dry.stdout,
    /^backup: every 1d on mini: not this computer's job \(run it here with --force --job=backup\)$/m,
  );
  assert.match(dry.stdout, /^photos: never ran, every 1d: due now$/m);
  const forced = await runCli(laptop, ["--dry-run", "--force", "--job", "backup"], env);
  assert.match(forced.stdout, /^backup: never ran, every 1d: would run \(forced\)$/m);
});

Deno.test("a computer name that cannot be one is a located config error", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(sandbox, 'jobs:\n  x: { script: /bin/true, computer: "mini; rm -rf" }\n');
  const bad = await runCli(sandbox, ["--dry-run"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /teleclaude\.yml:2:\d+: jobs\.x\.computer: "mini; rm -rf" is not a computer name/,
  );
  await writeConfig(sandbox, "jobs:\n  x: { script: /bin/true, computer: [] }\n");
  assert.equal((await runCli(sandbox, ["--dry-run"])).code, 2);
});

Deno.test("--doctor names this computer and warns when no pinned job is this computer's", async () => {
  await using sandbox = await computer();
  const named = await runCli(sandbox, ["--doctor", "--json"], { TELECLAUDE_COMPUTER: "desk" });
  const checks = JSON.parse(named.stdout) as { name: string; status: string; detail: string }[];
  const computerChecks = checks.filter((check) => check.name === "computer");
  assert.deepEqual(computerChecks.map((check) => check.status), ["info"]);
  assert.equal(
    computerChecks[0]!.detail,
    "this is desk (from TELECLAUDE_COMPUTER); 1 of the pinned jobs run here",
  );
  const typo = await runCli(sandbox, ["--doctor", "--json"], { TELECLAUDE_COMPUTER: "mimi" });
  const warned = (JSON.parse(typo.stdout) as { name: string; status: string; detail: string }[])
    .filter((check) => check.name === "computer");
  assert.deepEqual(warned.map((check) => check.status), ["info", "warn"]);
  assert.equal(
    warned[1]!.detail,
    "the config pins jobs to mini, Laptop, desk, and none of them is mimi",
  );
});

Deno.test("thisComputer() takes TELECLAUDE_COMPUTER, else a short host name; asked once", () => {
  assert.deepEqual(thisComputer(" studio ", "linux"), {
    name: "studio",
    source: "TELECLAUDE_COMPUTER",
  });
  const host = thisComputer("", "linux");
  assert.deepEqual(host, { name: Deno.hostname().split(".")[0], source: "the host name" });
  let asked = 0;
  const name = computerOnce(() => ({ name: `pc${++asked}`, source: "test" }));
  assert.deepEqual([name(), name()], ["pc1", "pc1"]);
  assert.ok(runsOn({ computers: null }, "any"));
  assert.ok(runsOn({ computers: ["MINI"] }, "mini"));
  assert.ok(runsOn({ computers: ["mini.local"] }, "Mini"));
  assert.ok(!runsOn({ computers: ["mini"] }, "mini2"));
});

Deno.test("a remembered computer name stands for an hour: a Mac does not ask scutil every tick", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  let asked = 0;
  const ask = () => ({ name: `pc${++asked}`, source: "test" });
  const fresh = computerOnce(ask, { name: "studio", at: now - 59 * 60_000 }, now);
  assert.equal(fresh(), "studio");
  assert.deepEqual([asked, fresh.asked()], [0, false]);
  assert.deepEqual(fresh.note(), { name: "studio", at: now - 59 * 60_000 });
  const stale = computerOnce(ask, { name: "studio", at: now - 61 * 60_000 }, now);
  assert.equal(stale(), "pc1");
  assert.deepEqual([asked, stale.asked()], [1, true]);
  assert.deepEqual(stale.note(), { name: "pc1", at: now });
  // Not asked at all (no pinned job was due): nothing new to remember.
  const idle = computerOnce(ask, null, now);
  assert.deepEqual([idle.note(), idle.asked()], [null, false]);
});

Deno.test("the tick note remembers the computer's name once a pinned job made the tick ask", async () => {
  await using sandbox = await computer();
  assert.equal((await runCli(sandbox, [])).code, 0);
  const note = JSON.parse(
    await Deno.readTextFile(join(sandbox.home, ".teleclaude/cron_last_tick.json")),
  );
  // No TELECLAUDE_COMPUTER in the sandbox: the runner asked the system, as this does.
  assert.equal(note.computer.name, thisComputer("", Deno.build.os).name);
  assert.ok(Date.parse(note.computer.at) <= Date.now());
});
