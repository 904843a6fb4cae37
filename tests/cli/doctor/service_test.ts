import assert from "node:assert/strict";
import { join } from "node:path";
import { buildId, SHORT_BUILD } from "../../../lib/build.ts";
import type { Check } from "../../../lib/cli/doctor.ts";
import { checkInstalledRunner } from "../../../lib/cli/doctor/service.ts";
import { runnerPaths } from "../../../lib/paths.ts";
import { VERSION } from "../../../lib/version.ts";
import { makeSandbox, ROOT, writeFile } from "../../helpers/sandbox.ts";

/** The doctor's line on an installed runner that answers `--version` with `answer`. */
async function runnerCheck(answer: string | null): Promise<Check> {
  await using sandbox = await makeSandbox();
  const paths = runnerPaths(sandbox.home);
  if (answer !== null) {
    await writeFile(join(paths.root, "bin/teleclaude-cron"), `#!/bin/sh\necho "${answer}"\n`, true);
  }
  const checks: Check[] = [];
  await checkInstalledRunner(paths, checks);
  assert.equal(checks.length, 1);
  return checks[0]!;
}

Deno.test("the doctor says which form of the runner is installed and whether it is this tree's build", async (t) => {
  const build = (await buildId(ROOT)).slice(0, SHORT_BUILD);
  await t.step("the compiled binary of this tree: ok", async () => {
    const check = await runnerCheck(
      `teleclaude-cron ${VERSION} (compiled, build ${build}; matches ${ROOT})`,
    );
    assert.equal(check.status, "ok");
    assert.match(
      check.detail,
      new RegExp(`teleclaude-cron is the compiled binary, build ${build}, like this source tree$`),
    );
  });
  await t.step(
    "the source form of another build: fail, with the tree to run init.sh in",
    async () => {
      const check = await runnerCheck(
        `teleclaude-cron ${VERSION} (source form, build 0123456789ab; matches /elsewhere)`,
      );
      assert.equal(check.status, "fail");
      assert.match(
        check.detail,
        new RegExp(
          `is the source form, build 0123456789ab; the source tree ${ROOT} is build ${build} now$`,
        ),
      );
      assert.equal(check.fix, `run ./init.sh in ${ROOT} to reinstall it`);
    },
  );
  await t.step("one installed before builds were stamped: fail", async () => {
    const check = await runnerCheck(`teleclaude-cron ${VERSION}`);
    assert.equal(check.status, "fail");
    assert.match(
      check.detail,
      new RegExp(
        `says "teleclaude-cron ${VERSION}", this source tree is ${VERSION}, build ${build}$`,
      ),
    );
  });
  await t.step("none: fail", async () => {
    const check = await runnerCheck(null);
    assert.equal(check.status, "fail");
    assert.match(check.detail, /bin\/teleclaude-cron is not installed$/);
    assert.equal(check.fix, "run ./init.sh");
  });
});
