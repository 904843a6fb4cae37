/**
 * `installAgents()` without the registry: a fake `npm` first on PATH, or a registry address
 * nothing listens on. Each case runs `installAgents()` in its own Deno process, since the cache
 * location and npm come from the environment and the result is kept per process.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFile } from "../helpers/sandbox.ts";
import { AGENT_PINS, AGENTS, type InstalledAgents } from "./install.ts";

const INSTALL_MODULE = new URL("./install.ts", import.meta.url).href;

/** Runs `installAgents()` in a new process with `env` added, and returns its result. */
async function installInProcess(env: Record<string, string>): Promise<InstalledAgents> {
  const script = `import { installAgents } from ${JSON.stringify(INSTALL_MODULE)};
console.log(JSON.stringify(await installAgents()));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, stdout + new TextDecoder().decode(output.stderr));
  return JSON.parse(stdout);
}

/**
 * A fake npm that "installs" each pinned package as a shell script printing its version, after a
 * pause long enough for a concurrent installer to collide with it, and logs each call.
 */
async function writeFakeNpm(bin: string, log: string): Promise<void> {
  const cases = AGENTS.map((agent) => {
    const pin = AGENT_PINS[agent];
    const spec = `${pin.package}@${pin.version}`;
    return `  ${spec}) bin=${pin.package}/${pin.bin}; version=${pin.version} ;;`;
  }).join("\n");
  await writeFile(
    join(bin, "npm"),
    `#!/bin/sh
echo "$*" >> ${JSON.stringify(log)}
prefix=$3
eval "spec=\\\${$#}"
case $spec in
${cases}
  *) echo "npm error code E404" >&2; exit 1 ;;
esac
sleep 1
mkdir -p "$(dirname "$prefix/node_modules/$bin")"
printf '#!/bin/sh\\necho %s\\n' "$version" > "$prefix/node_modules/$bin"
chmod +x "$prefix/node_modules/$bin"
`,
    true,
  );
}

Deno.test("installAgents() installs each pin once, even from two processes at the same time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tc-agents-install-" });
  try {
    const log = join(dir, "npm.log");
    await writeFakeNpm(join(dir, "bin"), log);
    const env = {
      XDG_CACHE_HOME: join(dir, "cache"),
      PATH: `${join(dir, "bin")}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    };
    const results = await Promise.all([installInProcess(env), installInProcess(env)]);
    const cache = join(dir, "cache", "teleclaude-cron", "agents");
    for (const result of results) {
      assert.equal(result.kind, "installed", JSON.stringify(result));
      if (result.kind !== "installed") continue;
      for (const agent of AGENTS) {
        const pin = AGENT_PINS[agent];
        const prefix = join(cache, `${pin.package}@${pin.version}`);
        assert.equal(result.binaries[agent], join(prefix, "node_modules", pin.package, pin.bin));
        assert.equal(result.versions[agent], pin.version);
      }
    }
    const calls = (await Deno.readTextFile(log)).trim().split("\n").sort();
    assert.deepEqual(
      calls,
      AGENTS.map((agent) => {
        const { package: name, version } = AGENT_PINS[agent];
        const prefix = join(cache, `${name}@${version}`);
        return `install --prefix ${prefix} --no-fund --no-audit --no-save ${name}@${version}`;
      }).sort(),
    );
    // Installed once, found afterwards: a third run calls npm no more.
    assert.equal((await installInProcess(env)).kind, "installed");
    assert.equal((await Deno.readTextFile(log)).trim().split("\n").length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("installAgents() skips, saying why, when the npm registry cannot be reached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tc-agents-offline-" });
  try {
    // A port that was free a moment ago: nothing answers there.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const result = await installInProcess({
      XDG_CACHE_HOME: join(dir, "cache"),
      npm_config_registry: `http://127.0.0.1:${port}/`,
      // An empty npm cache (no stale metadata to fall back on) and no retries (no waiting).
      npm_config_cache: join(dir, "npm"),
      npm_config_fetch_retries: "0",
    });
    assert.equal(result.kind, "skipped");
    if (result.kind !== "skipped") return;
    for (const agent of AGENTS) assert.match(result.reason, new RegExp(`${agent}: npm install`));
    assert.match(result.reason, /ECONNREFUSED/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
