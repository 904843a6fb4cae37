/**
 * The README's quick start as a new user meets it: `bash scripts/cron.sh --dry-run` on a machine
 * with only npm. Quiet when there is nothing to install, one line of ours when something long
 * happens (Deno from npm, the npm packages, the 900 MB of agent CLIs), the installer's own output
 * only when it fails, and nothing fetched that only the tests use.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { writeRuntimeConfig } from "../../scripts/runtime_config.ts";
import { runProgram } from "../helpers/init_sh.ts";
import { type CliResult, makeSandbox, ROOT, type Sandbox, writeFile } from "../helpers/sandbox.ts";

function bash(script: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return runProgram("bash", [join(ROOT, script), ...args], { env });
}

/** What Deno 2.9.6 prints on stderr while `deno cache` fetches the runner's packages. */
const DENO_DOWNLOADS = [
  "Download https://registry.npmjs.org/yaml/-/yaml-2.9.1.tgz",
  "Download https://registry.npmjs.org/zod/-/zod-4.6.7.tgz",
  "Download https://registry.npmjs.org/yaml",
  "Download https://registry.npmjs.org/zod",
].join("\n");

/** What npm 11.19 prints installing deno@2.9.6 globally (captured on this machine). */
const NPM_ALLOW_SCRIPTS = `
added 2 packages in 5s
npm warn install-scripts 1 package has install scripts not yet covered by allowScripts:
npm warn install-scripts   deno@2.9.6 (postinstall: node ./install.cjs)
npm warn install-scripts
npm warn install-scripts Run \`npm install -g --allow-scripts=deno\` to allow these scripts once, or \`npm config set allow-scripts=deno --location=user\` to allow them for all global installs.`;

/** A `deno` stand-in: answers --version as 2.9.6 does, and "fetches" with Deno's own lines. */
async function fakeDeno(dir: string, cacheExit: number): Promise<void> {
  await writeFile(
    join(dir, "deno"),
    `#!/bin/sh
case "$1" in
--version) echo "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)" ;;
cache) cat >&2 <<'EOF'
${DENO_DOWNLOADS}
EOF
  [ ${cacheExit} = 0 ] || echo "error: Failed caching npm package 'zod@4.6.7'" >&2
  exit ${cacheExit} ;;
esac
`,
    true,
  );
}

/**
 * A PATH directory with the few tools bootstrap.sh uses, and no deno (this machine has one in
 * /usr/bin).
 */
async function basicTools(sandbox: Sandbox): Promise<string> {
  const dir = join(sandbox.dir, "basic-tools");
  await Deno.mkdir(dir, { recursive: true });
  for (const tool of ["bash", "sh", "cat", "cp", "dirname", "head", "mkdir", "mktemp", "rm"]) {
    const found = await new Deno.Command("sh", {
      args: ["-c", `command -v ${tool}`],
      stdout: "piped",
    })
      .output();
    await Deno.symlink(new TextDecoder().decode(found.stdout).trim(), join(dir, tool));
  }
  return dir;
}

/** Where the machine's TLS roots and proxy are said: Deno needs them to reach npm here. */
const NETWORK_ENV = [
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "NODE_EXTRA_CA_CERTS",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
  "no_proxy",
];

const plainEnv = (sandbox: Sandbox, path: string) => ({
  HOME: sandbox.home,
  PATH: path,
  DENO_DIR: sandbox.env.DENO_DIR!,
  NO_COLOR: "1",
});

Deno.test("deno.runtime.json and deno.runtime.lock are what scripts/runtime_config.ts makes", async () => {
  await using sandbox = await makeSandbox();
  await writeRuntimeConfig(ROOT, sandbox.dir);
  for (const file of ["deno.runtime.json", "deno.runtime.lock"]) {
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(ROOT, file))),
      JSON.parse(await Deno.readTextFile(join(sandbox.dir, file))),
      `${file} is stale: run deno run --allow-read --allow-write --allow-run scripts/runtime_config.ts`,
    );
  }
  // Only the runner's own packages: what only the tests use stays out.
  const lock = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.runtime.lock")));
  assert.deepEqual(Object.keys(lock.npm).sort(), ["yaml@2.9.1", "zod@4.6.7"]);
});

Deno.test("bootstrap.sh says nothing when Deno and the packages are in place", async (t) => {
  await using sandbox = await makeSandbox();
  for (const args of [[], ["--tests"]]) {
    await t.step(args.join(" ") || "the runner's packages", async () => {
      const ran = await bash(
        "scripts/bootstrap.sh",
        args,
        plainEnv(sandbox, `${dirname(Deno.execPath())}:/usr/bin:/bin`),
      );
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout + ran.stderr, "");
    });
  }
});

Deno.test("bootstrap.sh says in one line that it fetches packages, and shows Deno's lines only on failure", async (t) => {
  for (const exit of [0, 1]) {
    await t.step(exit === 0 ? "fetched" : "failed", async () => {
      await using sandbox = await makeSandbox();
      await fakeDeno(sandbox.bin, exit);
      const ran = await bash(
        "scripts/bootstrap.sh",
        [],
        plainEnv(sandbox, `${sandbox.bin}:/usr/bin:/bin`),
      );
      assert.equal(ran.code, exit);
      const lines = ran.stderr.trim().split("\n");
      assert.equal(lines[0], "bootstrap: fetching the runner's npm packages into Deno's cache");
      if (exit === 0) assert.equal(lines.length, 1, ran.stderr);
      else assert.ok(ran.stderr.includes(`${DENO_DOWNLOADS}\nerror: Failed caching`), ran.stderr);
    });
  }
});

Deno.test("bootstrap.sh installs Deno from npm in one line; npm's warnings show only when it fails", async (t) => {
  for (const exit of [0, 1]) {
    await t.step(exit === 0 ? "installed" : "npm failed", async () => {
      await using sandbox = await makeSandbox();
      const npmBin = join(sandbox.dir, "npm-bin");
      const installed = join(sandbox.dir, "installed");
      // npm puts deno into a directory already on PATH, as its global prefix's bin is.
      await writeFile(
        join(npmBin, "npm"),
        `#!/bin/sh
cat <<'EOF'
${NPM_ALLOW_SCRIPTS}
EOF
[ ${exit} = 0 ] || { echo "npm error code EACCES" >&2; exit 1; }
mkdir -p "${installed}" && cp "${join(sandbox.dir, "deno-package")}/deno" "${installed}/deno"
`,
        true,
      );
      await fakeDeno(join(sandbox.dir, "deno-package"), 0);
      const ran = await bash(
        "scripts/bootstrap.sh",
        [],
        plainEnv(sandbox, `${npmBin}:${installed}:${await basicTools(sandbox)}`),
      );
      const lines = ran.stderr.trim().split("\n");
      assert.equal(
        lines[0],
        "bootstrap: installing deno 2.9.6 from the npm registry (about 40 MB)",
      );
      if (exit === 0) {
        assert.equal(ran.code, 0, ran.stderr);
        assert.doesNotMatch(ran.stdout + ran.stderr, /allowScripts|npm warn/);
      } else {
        assert.notEqual(ran.code, 0);
        assert.match(ran.stderr, /npm warn install-scripts[\s\S]*npm error code EACCES/);
      }
    });
  }
});

Deno.test("the agent CLIs' install says in one line what it fetches and how big it is", async () => {
  await using sandbox = await makeSandbox();
  const node = await new Deno.Command("sh", { args: ["-c", "command -v node"], stdout: "piped" })
    .output();
  const nodeDir = dirname(new TextDecoder().decode(node.stdout).trim() || "/usr/bin/node");
  await writeFile(
    join(sandbox.bin, "npm"),
    '#!/bin/sh\necho "npm error code E404" >&2\nexit 1\n',
    true,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "tests/agents/install.ts")],
    env: {
      HOME: sandbox.home,
      XDG_CACHE_HOME: join(sandbox.dir, "cache"),
      PATH: `${sandbox.bin}:${nodeDir}:/usr/bin:/bin`,
      DENO_DIR: sandbox.env.DENO_DIR!,
      NO_COLOR: "1",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(output.stderr).trim().split("\n");
  assert.equal(output.code, 1);
  assert.match(
    lines[0]!,
    /^agents: installing @anthropic-ai\/claude-code@\S+, @openai\/codex@\S+, @google\/gemini-cli@\S+ from npm into \S+ \(about 900 MB for all three: this takes minutes on a slow link\)$/,
  );
  assert.match(lines[1]!, /^agent CLIs not installed: claude: npm install .* failed: E404/);
});

/** Whether the npm registry answers (the fresh-cache test needs it; CI has it). */
async function registryReachable(): Promise<boolean> {
  try {
    const response = await fetch("https://registry.npmjs.org/yaml/2.9.1", {
      signal: AbortSignal.timeout(5000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

const online = await registryReachable();
if (!online) {
  // deno-lint-ignore no-console -- the skip must be visible in the test output.
  console.log(
    "quick_start_test: SKIPPED the fresh-cache --dry-run: registry.npmjs.org does not answer",
  );
}

Deno.test({
  name:
    "the quick start's --dry-run on a fresh cache fetches only the runner's packages, saying so once",
  ignore: !online,
  async fn() {
    await using sandbox = await makeSandbox();
    const denoDir = join(sandbox.dir, "deno-cache");
    const network = Object.fromEntries(
      NETWORK_ENV.flatMap((name) => Deno.env.get(name) ? [[name, Deno.env.get(name)!]] : []),
    );
    const ran = await bash("scripts/cron.sh", ["--dry-run"], {
      ...plainEnv(sandbox, `${dirname(Deno.execPath())}:/usr/bin:/bin`),
      ...network,
      DENO_DIR: denoDir,
    });
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^next_prepare_draft: never ran, every 2h: due now$/m);
    assert.equal(ran.stderr, "bootstrap: fetching the runner's npm packages into Deno's cache\n");
    const fetched = [...Deno.readDirSync(join(denoDir, "npm/registry.npmjs.org"))].map((entry) =>
      entry.name
    );
    assert.deepEqual(fetched.sort(), ["yaml", "zod"]);
    // Run again: nothing to say.
    const again = await bash("scripts/cron.sh", ["--dry-run"], {
      ...plainEnv(sandbox, `${dirname(Deno.execPath())}:/usr/bin:/bin`),
      DENO_DIR: denoDir,
    });
    assert.equal(again.stderr, "");
  },
});
