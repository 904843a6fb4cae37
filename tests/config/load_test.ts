import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, shortHash } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/errors.ts";
import { makeSandbox, writeFile } from "../helpers/sandbox.ts";

Deno.test("loadConfig() caches the validated config and reparses only when the file changes", async () => {
  await using sandbox = await makeSandbox();
  const cache = {
    root: join(sandbox.home, ".teleclaude"),
    dir: join(sandbox.home, ".teleclaude/cache"),
    write: true,
  };
  await writeFile(sandbox.config, "jobs:\n  a: { script: x, when: { every: 5m } }\n");
  const first = await loadConfig(sandbox.config, cache);
  const second = await loadConfig(sandbox.config, cache);
  assert.equal(first.fromCache, false);
  assert.equal(second.fromCache, true);
  assert.deepEqual(second.config.jobs, first.config.jobs);
  await writeFile(sandbox.config, "jobs:\n  a: { script: x, when: { every: 7m } }\n");
  const third = await loadConfig(sandbox.config, cache);
  assert.equal(third.fromCache, false);
  assert.deepEqual(third.config.jobs[0]?.schedule, { kind: "every", minutes: 7 });
});

Deno.test("loadConfig() discovers executables in jobs/ that no config entry runs", async () => {
  await using sandbox = await makeSandbox();
  await writeFile(sandbox.config, "jobs:\n  rotate: { script: jobs/rotate.sh }\n");
  await writeFile(join(sandbox.project, "jobs/rotate.sh"), "#!/bin/sh\n", true);
  await writeFile(join(sandbox.project, "jobs/reindex.py"), "#!/bin/sh\n", true);
  await writeFile(join(sandbox.project, "jobs/notes.txt"), "not executable\n");
  const { config } = await loadConfig(sandbox.config, null);
  assert.deepEqual(config.jobs.map((job) => [job.name, job.schedule.kind]), [
    ["rotate", "daily"],
    ["reindex", "unscheduled"],
  ]);
});

Deno.test("loadConfig() says a missing config file is missing", async () => {
  await using sandbox = await makeSandbox();
  await assert.rejects(loadConfig(join(sandbox.dir, "nope.yml"), null), (error: Error) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /nope\.yml: config file not found/);
    return true;
  });
});

Deno.test("loadConfig() never trusts a cache written by another version of the runner", async () => {
  await using sandbox = await makeSandbox();
  const cache = {
    root: join(sandbox.home, ".teleclaude"),
    dir: join(sandbox.home, ".teleclaude/cache"),
    write: true,
  };
  await writeFile(sandbox.config, "jobs:\n  a: { script: x, when: { every: 5m } }\n");
  assert.equal((await loadConfig(sandbox.config, cache)).fromCache, false);
  const file = join(cache.dir, `config-${shortHash(sandbox.config)}.json`);
  const cached = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(file, JSON.stringify({ ...cached, version: "0.0.1" }));
  assert.equal((await loadConfig(sandbox.config, cache)).fromCache, false);
  assert.equal((await loadConfig(sandbox.config, cache)).fromCache, true);
});

Deno.test("loadConfig() with a read-only cache reads it but never writes it (the views)", async () => {
  await using sandbox = await makeSandbox();
  const dir = join(sandbox.home, ".teleclaude/cache");
  await writeFile(sandbox.config, "jobs:\n  a: { script: x }\n");
  await loadConfig(sandbox.config, { root: join(sandbox.home, ".teleclaude"), dir, write: false });
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  await loadConfig(sandbox.config, { root: join(sandbox.home, ".teleclaude"), dir, write: true });
  assert.equal(
    (await loadConfig(sandbox.config, {
      root: join(sandbox.home, ".teleclaude"),
      dir,
      write: false,
    })).fromCache,
    true,
  );
});
