import assert from "node:assert/strict";
import { DEFAULT_FLAGS, parseFlags } from "../../lib/cli/flags.ts";
import { UsageError } from "../../lib/errors.ts";

async function usageError(args: string[]): Promise<string> {
  try {
    await parseFlags(args);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  assert.fail(`expected a usage error for ${args.join(" ")}`);
}

Deno.test("parseFlags() reads launchd's tick and each mode with its options", async () => {
  assert.deepEqual(await parseFlags([]), DEFAULT_FLAGS);
  assert.deepEqual(await parseFlags(["--config", "/a/b.yml"]), {
    ...DEFAULT_FLAGS,
    config: "/a/b.yml",
  });
  assert.deepEqual(await parseFlags(["--force", "--job", "x"]), {
    ...DEFAULT_FLAGS,
    force: true,
    job: "x",
  });
  const history = await parseFlags(["--history", "nightly", "--limit", "5", "--json"]);
  assert.deepEqual(
    [history.mode, history.historyJob, history.limit, history.json],
    ["history", "nightly", 5, true],
  );
  const logs = await parseFlags(["--logs", "nightly", "--run", "3"]);
  assert.deepEqual([logs.mode, logs.logsJob, logs.run], ["logs", "nightly", 3]);
  assert.equal((await parseFlags(["--doctor", "--json"])).mode, "doctor");
  assert.equal((await parseFlags(["--dry-run", "--force"])).mode, "dry-run");
  assert.equal((await parseFlags(["--list", "--job", "x", "--json"])).mode, "list");
});

Deno.test("parseFlags(): --help and --version win over any other flag", async () => {
  assert.equal((await parseFlags(["--list", "--help"])).mode, "help");
  assert.equal((await parseFlags(["-h"])).mode, "help");
  assert.equal((await parseFlags(["--doctor", "--version"])).mode, "version");
});

Deno.test("parseFlags() refuses two modes at once, --doctor included", async () => {
  for (
    const [args, pair] of [
      [["--list", "--dry-run"], "--dry-run and --list"],
      [["--doctor", "--list"], "--list and --doctor"],
      [["--history", "--logs", "x"], "--history and --logs"],
    ] as const
  ) {
    assert.match(await usageError([...args]), new RegExp(`^${pair} cannot be combined`));
  }
});

Deno.test("parseFlags() refuses an option the mode would silently ignore", async () => {
  // --json alone used to start a real run.
  assert.equal(
    await usageError(["--json"]),
    "--json does not go with a run (no mode) (it goes with --list, --history, --doctor)",
  );
  assert.match(await usageError(["--list", "--force"]), /^--force does not go with --list/);
  assert.match(await usageError(["--doctor", "--job", "x"]), /^--job does not go with --doctor/);
  assert.match(await usageError(["--limit", "3"]), /^--limit does not go with a run/);
  assert.match(await usageError(["--list", "extra"]), /^unexpected argument "extra"/);
});

Deno.test("parseFlags() wants whole numbers ≥ 1 for --run and --limit", async () => {
  assert.equal(
    await usageError(["--logs", "x", "--run", "0"]),
    '--run takes a whole number ≥ 1, got "0"',
  );
  assert.equal(
    await usageError(["--history", "--limit", "2.5"]),
    '--limit takes a whole number ≥ 1, got "2.5"',
  );
  assert.match(await usageError(["--frobnicate"]), /^unknown option --frobnicate \(see --help\)$/);
});

Deno.test("parseFlags() reads --export kubernetes with its own options", async () => {
  assert.deepEqual(
    await parseFlags([
      "--export",
      "kubernetes",
      "--namespace",
      "cron",
      "--image",
      "registry.example.com/teleclaude-cron:1",
      "--secret",
      "agent-keys",
      "--job",
      "nightly",
    ]),
    {
      ...DEFAULT_FLAGS,
      mode: "export",
      exportTarget: "kubernetes",
      namespace: "cron",
      image: "registry.example.com/teleclaude-cron:1",
      secret: "agent-keys",
      job: "nightly",
    },
  );
});

Deno.test("parseFlags() refuses an export target it does not know, and export options elsewhere", async () => {
  assert.equal(
    await usageError(["--export", "nomad"]),
    '--export takes kubernetes, got "nomad" (see --help)',
  );
  assert.equal(
    await usageError(["--namespace", "cron"]),
    "--namespace does not go with a run (no mode) (it goes with --export)",
  );
  assert.match(
    await usageError(["--list", "--secret", "keys"]),
    /^--secret does not go with --list/,
  );
  // The container always runs its one job with --force; on the export itself it would do nothing.
  assert.equal(
    await usageError(["--export", "kubernetes", "--force"]),
    "--force does not go with --export (it goes with a run, --dry-run)",
  );
  assert.match(
    await usageError(["--export", "kubernetes", "--list"]),
    /^--list and --export cannot be combined: use one of .*--export\b/,
  );
});

Deno.test("parseFlags() answers a mistyped option with the likely one, in the runner's own words", async () => {
  assert.equal(await usageError(["--lst"]), "unknown option --lst (did you mean --list?)");
  assert.equal(await usageError(["--dryrun"]), "unknown option --dryrun (did you mean --dry-run?)");
  assert.equal(await usageError(["--frobnicate"]), "unknown option --frobnicate (see --help)");
  assert.equal(
    await usageError(["--config"]),
    "option '--config <value>' argument missing (see --help)",
  );
});

Deno.test("parseFlags(): --help and --version win over an option the runner does not know", async () => {
  assert.equal((await parseFlags(["--help", "--frobnicate"])).mode, "help");
  assert.equal((await parseFlags(["--frobnicate", "-h"])).mode, "help");
  assert.equal((await parseFlags(["--version", "--lst"])).mode, "version");
});

Deno.test("parseFlags() takes a job's name for --logs, never a path", async () => {
  for (const name of ["../../../x", "a/b", "..", "Nightly"]) {
    assert.equal(
      await usageError(["--logs", name]),
      `--logs takes a job's name (a-z, 0-9, _ and -), got ${JSON.stringify(name)}`,
    );
  }
});
