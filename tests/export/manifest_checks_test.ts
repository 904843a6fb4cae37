import assert from "node:assert/strict";
import { manifestProblems } from "../helpers/kubernetes.ts";

/** A parsed manifest, read freely: what it holds is checked by `manifestProblems()`. */
// deno-lint-ignore no-explicit-any
type Document = Record<string, any>;

/** A CronJob as the export writes one, small. */
function cronJob(): Document {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "nightly", labels: { "teleclaude.ai/job": "nightly" } },
    spec: {
      schedule: "0 6 * * *",
      timeZone: "Europe/Amsterdam",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 90000,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: "Never",
              containers: [{ name: "runner", image: "teleclaude-cron:0.1.0" }],
            },
          },
        },
      },
    },
  };
}

Deno.test("the manifest checks pass a good CronJob and catch what the API server would refuse", () => {
  assert.deepEqual(manifestProblems(cronJob()), []);
  const broken: [string, (document: Document) => void, RegExp][] = [
    ["an unknown field", (d) => d.spec.jobTemplate.spec.retries = 3, /retries is not a field/],
    ["a misspelt field", (d) => d.spec.timezone = "UTC", /spec\.timezone is not a field/],
    ["a negative deadline", (d) => d.spec.startingDeadlineSeconds = -1, /is -1/],
    ["a six-field cron", (d) => d.spec.schedule = "0 0 6 * * *", /five fields/],
    ["an hour of 24", (d) => d.spec.schedule = "0 24 * * *", /outside 0-23/],
    ["a step from a value", (d) => d.spec.schedule = "5/15 * * * *", /step from a single value/],
    ["an unknown zone", (d) => d.spec.timeZone = "Mars/Olympus", /not an IANA zone/],
    ["the Local zone", (d) => d.spec.timeZone = "Local", /Local|IANA/],
    ["a 53-character name", (d) => d.metadata.name = "a".repeat(53), /at most 52/],
    ["an underscore in the name", (d) => d.metadata.name = "a_b", /not a DNS label/],
    ["a label value with a space", (d) => d.metadata.labels.x = "a b", /not a valid label value/],
    ["a wrong concurrency policy", (d) => d.spec.concurrencyPolicy = "Never", /schema/],
    [
      "no container image type",
      (d) => d.spec.jobTemplate.spec.template.spec.containers = {},
      /schema|not a list/,
    ],
  ];
  for (const [what, breakIt, problem] of broken) {
    const document = cronJob();
    breakIt(document);
    const problems = manifestProblems(document);
    assert.ok(problems.some((text) => problem.test(text)), `${what}: ${problems.join("; ")}`);
  }
});

Deno.test("the manifest checks catch a ConfigMap key or size Kubernetes would refuse", () => {
  const configMap = (data: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "teleclaude-cron", labels: {} },
    data,
  });
  assert.deepEqual(manifestProblems(configMap({ "teleclaude.yml": "jobs: {}\n" })), []);
  assert.match(manifestProblems(configMap({ "a/b": "" })).join(), /not a ConfigMap key/);
  assert.match(manifestProblems(configMap({ "..": "" })).join(), /not a ConfigMap key/);
  assert.match(manifestProblems(configMap({ big: "x".repeat(1024 * 1024) })).join(), /1 MiB/);
});
