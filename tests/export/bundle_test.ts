/**
 * What the export puts in the ConfigMap (lib/export/bundle.ts): only the runner's part of the
 * config, whatever names the config file; sizes checked before a byte is read; the notify
 * command bundled like a script job's program.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/load.ts";
import { ConfigError } from "../../lib/errors.ts";
import { exportKubernetes } from "../../lib/export/kubernetes.ts";
import {
  configOf,
  cronJobs,
  type Document,
  exported,
  manifestProblems,
  materialize,
  OPTIONS,
  thrown,
} from "../helpers/kubernetes.ts";
import { makeSandbox, runCli, type Sandbox, writeConfig, writeFile } from "../helpers/sandbox.ts";

/** A config with another component's secret beside the jobs, and one in a job's own keys. */
const WITH_SECRETS = `
telegram:
  token: SECRET-TELEGRAM
jobs:
  imp:
    script: [jobs/imp.sh, teleclaude.yml, ./teleclaude.yml, linked.yml]
    chat_token: SECRET-JOB
  report:
    job: report
    slack: { webhook: SECRET-SLACK }
`;

async function withSecrets(sandbox: Sandbox): Promise<void> {
  await writeConfig(sandbox, WITH_SECRETS, ["report"]);
  await writeFile(join(sandbox.project, "jobs/imp.sh"), '#!/bin/sh\ncat "$1"\n', true);
  await Deno.symlink("teleclaude.yml", join(sandbox.project, "linked.yml"));
}

function volumeItems(cronJob: Document): { key: string; path: string; mode?: number }[] {
  return cronJob.spec.jobTemplate.spec.template.spec.volumes[0].configMap.items;
}

Deno.test("a script argument naming the config gets the runner's part, never the file: no secret leaves, no path twice", async () => {
  await using sandbox = await makeSandbox();
  await withSecrets(sandbox);
  const { yaml, documents, notes } = await exported(sandbox);
  for (const secret of ["SECRET-TELEGRAM", "SECRET-JOB", "SECRET-SLACK"]) {
    assert.ok(!yaml.includes(secret), `${secret} was printed`);
  }
  assert.deepEqual(Object.keys(documents[0]!.data).sort(), [
    "imp.sh",
    "report.md",
    "teleclaude.yml",
  ]);
  for (const cronJob of cronJobs(documents).values()) {
    const items = volumeItems(cronJob);
    assert.deepEqual(items.map((item) => item.path), [
      "teleclaude.yml",
      "docs/project/spec/jobs/report.md",
      "jobs/imp.sh",
      "linked.yml",
    ]);
    // The link is the config by another name: it is given the cluster's config too.
    assert.deepEqual(items.find((item) => item.path === "linked.yml"), {
      key: "teleclaude.yml",
      path: "linked.yml",
    });
    assert.deepEqual(manifestProblems(cronJob), []);
  }
  assert.deepEqual(notes.filter((note) => note.startsWith("jobs.")).sort(), [
    "jobs.imp.chat_token is left out of the cluster's config: the runner does not read it",
    "jobs.imp: its argument ./teleclaude.yml is the config: in the cluster that file holds only " +
    "the runner's part of it",
    "jobs.imp: its argument linked.yml is the config: in the cluster that file holds only the " +
    "runner's part of it",
    "jobs.imp: its argument teleclaude.yml is the config: in the cluster that file holds only " +
    "the runner's part of it",
    "jobs.report.slack is left out of the cluster's config: the runner does not read it",
  ]);
  // Laid out as the volume does, the jobs are the same and the argument reads the runner's part.
  const cluster = join(sandbox.dir, "cluster");
  await materialize(documents, cluster);
  const { config } = await loadConfig(sandbox.config, null);
  const { config: there } = await loadConfig(join(cluster, "teleclaude.yml"), null);
  assert.deepEqual(there.jobs, config.jobs);
  assert.deepEqual(configOf(documents[0]!), {
    jobs: {
      imp: { script: ["jobs/imp.sh", "teleclaude.yml", "./teleclaude.yml", "linked.yml"] },
      report: { job: "report" },
    },
  });
  assert.equal(
    await Deno.readTextFile(join(cluster, "linked.yml")),
    documents[0]!.data["teleclaude.yml"],
  );
});

Deno.test("a config of another name is placed where its arguments name it; another teleclaude.yml is refused", async () => {
  await using sandbox = await makeSandbox();
  const config = join(sandbox.project, "cron.yml");
  await writeFile(
    config,
    "other: SECRET-OTHER\njobs:\n  imp:\n    script: [jobs/imp.sh, cron.yml]\n",
  );
  await writeFile(join(sandbox.project, "jobs/imp.sh"), "#!/bin/sh\n", true);
  const { config: loaded } = await loadConfig(config, null);
  const { yaml } = exportKubernetes(loaded, OPTIONS);
  assert.ok(!yaml.includes("SECRET-OTHER"));
  assert.match(yaml, /- key: teleclaude\.yml\n\s+path: cron\.yml\n/);
  // A file named teleclaude.yml that is not the config would be hidden by the cluster's config.
  await writeFile(config, "jobs:\n  imp:\n    script: [jobs/imp.sh, teleclaude.yml]\n");
  await writeFile(join(sandbox.project, "teleclaude.yml"), "telegram: {token: SECRET}\n");
  const { config: other } = await loadConfig(config, null);
  assert.equal(
    thrown(ConfigError, () => exportKubernetes(other, OPTIONS)).message,
    `${config}:3:13: jobs.imp.script: "teleclaude.yml" is where the cluster's config is placed, ` +
      "and it is not this config: rename the file",
  );
});

/** A file of `bytes` that takes no disk: sparse, as `truncate -s` makes it. */
async function sparseFile(path: string, bytes: number): Promise<void> {
  await writeFile(path, "");
  await Deno.truncate(path, bytes);
}

const MIB = 1024 * 1024;

Deno.test("--export with a 600 MiB file a script names exits 2 at its place, reading none of it", async () => {
  await using sandbox = await makeSandbox({ tz: "Europe/Amsterdam" });
  await writeConfig(sandbox, "jobs:\n  imp:\n    script: [jobs/imp.sh, data.sql]\n");
  await writeFile(join(sandbox.project, "jobs/imp.sh"), "#!/bin/sh\n", true);
  await sparseFile(join(sandbox.project, "data.sql"), 600 * MIB);
  // Under a heap of 64 MiB: reading the file into a string would end in an out-of-memory crash.
  const result = await runCli(sandbox, ["--export", "kubernetes"], {
    DENO_V8_FLAGS: "--max-old-space-size=64",
  });
  assert.equal(result.code, 2, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    `teleclaude-cron: ${sandbox.config}:3:13: jobs.imp.script: "data.sql" is 600 MiB ` +
      `(629145600 bytes), and a ConfigMap holds at most 1 MiB: install it in the image and name ` +
      `it by its path there, or have the job fetch it\n`,
  );
});

Deno.test("files that together pass 1 MiB are refused at the largest's place, before or after encoding", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "jobs:\n  a:\n    script: [jobs/a.sh, small.bin]\n  b:\n    script: [jobs/b.sh, big.bin]\n",
  );
  for (const name of ["a", "b"]) {
    await writeFile(join(sandbox.project, `jobs/${name}.sh`), "#!/bin/sh\n", true);
  }
  await sparseFile(join(sandbox.project, "small.bin"), 300 * 1024);
  await sparseFile(join(sandbox.project, "big.bin"), 800 * 1024);
  const { config } = await loadConfig(sandbox.config, null);
  const refused = () => thrown(ConfigError, () => exportKubernetes(config, OPTIONS));
  assert.equal(refused().exitCode, 2);
  assert.match(
    refused().message,
    new RegExp(
      `^${sandbox.config}:5:13: jobs\\.b\\.script: "big\\.bin" \\(800 KiB\\), with the config ` +
        `and 3 other files, makes the ConfigMap 1\\.1 MiB as Kubernetes stores it, and a ConfigMap holds at most 1 MiB: `,
    ),
  );
  // 900 KiB of zeros fits as it is, not as the JSON the API server stores (each NUL is \u0000).
  await Deno.remove(join(sandbox.project, "small.bin"));
  await Deno.truncate(join(sandbox.project, "big.bin"), 900 * 1024);
  assert.match(
    refused().message,
    /^.*:5:13: jobs\.b\.script: "big\.bin" \(900 KiB\), with the config and 2 other files, makes the ConfigMap 5\.3 MiB/,
  );
});

Deno.test("the notify command travels like a script job's program, with the files it names", async () => {
  await using sandbox = await makeSandbox();
  await writeConfig(
    sandbox,
    "cron:\n  notify:\n    command: [./notify.sh, --topic, notify.conf]\njobs:\n  x:\n    job: x\n",
    ["x"],
  );
  await writeFile(join(sandbox.project, "notify.sh"), "#!/bin/sh\ncat > told.json\n", true);
  await writeFile(join(sandbox.project, "notify.conf"), "topic=cron\n");
  const { documents, notes } = await exported(sandbox);
  assert.deepEqual(notes, []);
  const items = volumeItems(documents[1]!);
  assert.deepEqual(items.filter((item) => !item.path.startsWith("docs/")), [
    { key: "teleclaude.yml", path: "teleclaude.yml" },
    { key: "notify.conf", path: "notify.conf" },
    { key: "notify.sh", path: "notify.sh", mode: 0o755 },
  ]);
  const cluster = join(sandbox.dir, "cluster");
  await materialize(documents, cluster);
  const { config: there } = await loadConfig(join(cluster, "teleclaude.yml"), null);
  assert.deepEqual(there.cron.notify.command, ["./notify.sh", "--topic", "notify.conf"]);
  assert.equal((await Deno.stat(join(cluster, "notify.sh"))).mode! & 0o777, 0o755);
  assert.equal(await Deno.readTextFile(join(cluster, "notify.conf")), "topic=cron\n");
});

Deno.test("a notify command on this machine's paths is refused at its place; a bare name comes from the image", async () => {
  await using sandbox = await makeSandbox();
  const config = (command: string) =>
    writeConfig(sandbox, `cron:\n  notify:\n    command: ${command}\njobs:\n  x:\n    job: x\n`, [
      "x",
    ]);
  const refused = async () => {
    const { config: loaded } = await loadConfig(sandbox.config, null);
    return thrown(ConfigError, () => exportKubernetes(loaded, { ...OPTIONS, job: "x" })).message;
  };
  await config("~/bin/notify.sh");
  assert.match(
    await refused(),
    new RegExp(
      `^${sandbox.config}:3:14: cron\\.notify\\.command: ".*/bin/notify\\.sh" is a path on this ` +
        "machine: only the config's directory travels to the cluster",
    ),
  );
  await config("[../notify.sh]");
  assert.match(await refused(), /:3:14: cron\.notify\.command: "\.\.\/notify\.sh" is outside/);
  await config("[bin/notify.sh]");
  assert.match(
    await refused(),
    /:3:14: cron\.notify\.command: "bin\/notify\.sh" does not exist beside the config$/,
  );
  await config("[ntfy, publish]");
  // The runner takes a bare name from PATH (never from beside the config), so the image's PATH.
  await writeFile(join(sandbox.project, "ntfy"), "#!/bin/sh\n", true);
  const { notes, documents } = await exported(sandbox);
  assert.deepEqual(notes, [
    "cron.notify.command: ntfy is not beside the config: it must be on the image's PATH",
  ]);
  assert.ok(!("ntfy" in documents[0]!.data));
});
