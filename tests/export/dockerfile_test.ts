/**
 * The Dockerfile is not built here (no registry for base images), so what the export relies on is
 * checked in its text: the pinned agent versions, a non-root user the CronJobs can verify, the
 * HOME the binary's permissions were compiled for, and the tag the export names by default.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_IMAGE } from "../../lib/export/manifests.ts";
import pins from "../agents/versions.json" with { type: "json" };
import { ROOT } from "../helpers/sandbox.ts";

const dockerfile = await Deno.readTextFile(join(ROOT, "Dockerfile"));
/** The final stage: what the image is. */
const image = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

Deno.test("the Dockerfile installs each agent CLI at the version the runner was verified with", () => {
  const args = Object.fromEntries(
    [...image.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((match) => [match[1], match[2]]),
  );
  for (const [agent, pin] of Object.entries(pins)) {
    const arg = `${agent.toUpperCase()}_VERSION`;
    assert.equal(args[arg], pin.version, arg);
    assert.ok(image.includes(`"${pin.package}@\${${arg}}"`), `${pin.package} installed at ${arg}`);
  }
});

Deno.test("the Dockerfile's Deno is the one bootstrap.sh installs", async () => {
  const bootstrap = await Deno.readTextFile(join(ROOT, "scripts/bootstrap.sh"));
  const pinned = /^DENO_VERSION=(\S+)$/m.exec(bootstrap)![1];
  assert.match(
    dockerfile,
    new RegExp(`npm install --global --no-fund --no-audit deno@${pinned}\n`),
  );
});

Deno.test("the image runs the compiled runner as a numbered non-root user, with the HOME it was compiled for", () => {
  const user = /^USER (\d+)(?::\d+)?$/m.exec(image);
  assert.ok(user, "USER must be numeric for runAsNonRoot");
  assert.notEqual(user[1], "0");
  const home = /^ENV HOME=(\S+)$/m.exec(image)![1];
  // scripts/permission-flags.sh bakes --allow-write=$HOME/.teleclaude into the binary.
  assert.match(
    dockerfile,
    new RegExp(`RUN HOME=${home} sh scripts/compile.sh /out/teleclaude-cron`),
  );
  assert.ok(
    image.includes("COPY --from=build /out/teleclaude-cron /usr/local/bin/teleclaude-cron"),
  );
  assert.match(
    image,
    /^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/teleclaude-cron"\]$/m,
  );
  for (const tool of ["procps", "tini", "tzdata"]) assert.match(image, new RegExp(`\\b${tool}\\b`));
});

Deno.test("the README builds the image under the tag the export names by default", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  assert.ok(readme.includes(`docker build -t ${DEFAULT_IMAGE} .`), DEFAULT_IMAGE);
  assert.ok(dockerfile.includes(`docker build -t ${DEFAULT_IMAGE} .`), DEFAULT_IMAGE);
});
