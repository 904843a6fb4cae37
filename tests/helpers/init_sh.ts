/**
 * init.sh run for real against stand-ins for the system tools it drives, under a temp HOME:
 * launchctl, plutil, sudo, systemctl, loginctl, id and uname, and a `deno` that passes every
 * command to the real Deno except `compile` (which needs denort, not fetchable here). Each
 * stand-in appends its argv to one calls file; launchctl and systemctl keep the state they are
 * asked about (loaded, enabled) in files, so a second run sees what the first did.
 *
 * The stand-ins behave as the real tools do where init.sh looks: systemctl as systemd 252's
 * (`show-environment` answers only with a user manager, else "Failed to connect to bus: No medium
 * found", exit 1, as measured here; `is-enabled` prints the state, exit 0 only for enabled),
 * launchctl as macOS 14's launchctl(1) (`print gui/UID` exits 113 without a GUI session,
 * `bootstrap` exits 5 "Input/output error" on failure), deno compile as Deno 2.9.6 without
 * denort (its message captured on this machine). Knobs, as environment variables: FAKE_UID,
 * FAKE_SYSTEMD=none (no user manager), FAKE_ENABLE=fail (the first `enable` fails, later ones
 * work: what is taken back can be enabled again), FAKE_LAUNCHD_GUI=none, FAKE_BOOTSTRAP=fail,
 * FAKE_COMPILE=no-denort. tests/service/systemd_test.ts runs the real systemd.
 */

import { join } from "node:path";
import { type CliResult, ROOT, type Sandbox, writeFile } from "./sandbox.ts";

/** The stand-ins of one sandbox, and the environment init.sh runs with. */
export interface Installer {
  sandbox: Sandbox;
  calls: string;
  logDir: string;
  agentDir: string;
  /** Where the stand-ins keep their state, and where the fake compile puts its trees. */
  state: string;
  env: Record<string, string>;
}

/** What Deno 2.9.6 prints when deno compile cannot download denort (captured on this machine). */
export const NO_DENORT_OUTPUT = `Check main.ts
Compile main.ts to teleclaude-cron
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file 'teleclaude-cron.tmp-b3bd03487db505a1'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
    2: client error (Connect)
    3: dns error
    4: failed to lookup address information: Name or service not known`;

const SYSTEMCTL = `
state=$FAKE_STATE/systemd-timer
if [ "\${FAKE_SYSTEMD:-}" = none ]; then echo "Failed to connect to bus: No medium found" >&2; exit 1; fi
case "$*" in
"--user show-environment") echo "HOME=$HOME" ;;
"--user is-enabled "*)
  s=$(cat "$state" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = enabled ] ;;
"--user is-active "*)
  if [ "$(cat "$state" 2>/dev/null)" = enabled ]; then echo active; else echo inactive; exit 3; fi ;;
"--user enable --now "*)
  if [ "\${FAKE_ENABLE:-}" = fail ] && [ ! -f "$FAKE_STATE/enable-failed" ]; then
    touch "$FAKE_STATE/enable-failed"
    echo "Failed to enable unit: Unit file $4 does not exist." >&2; exit 1
  fi
  echo enabled > "$state" ;;
"--user disable --now "*) echo disabled > "$state" ;;
esac
`;

const LAUNCHCTL = `
loaded=$FAKE_STATE/launchd-loaded
case "$1" in
print)
  case "$2" in
  gui/*/*) [ -f "$loaded" ] || { echo "Could not find service \\"\${2##*/}\\" in domain for port" >&2; exit 113; } ;;
  *) if [ "\${FAKE_LAUNCHD_GUI:-}" = none ]; then echo "Bad request." >&2; echo "Could not find domain for user gui: \${2#gui/}" >&2; exit 113; fi ;;
  esac ;;
bootstrap)
  if [ "\${FAKE_BOOTSTRAP:-}" = fail ]; then echo "Bootstrap failed: 5: Input/output error" >&2; exit 5; fi
  touch "$loaded" ;;
load) touch "$loaded" ;;
bootout | unload)
  [ -f "$loaded" ] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
  rm -f "$loaded" ;;
esac
`;

/** The fake compile: records the call, then makes a runner of the stamped tree it was given. */
function fakeDeno(calls: string, state: string): string {
  return `#!/bin/sh
if [ "$1" != compile ]; then exec "${Deno.execPath()}" "$@"; fi
echo "deno $*" >> "${calls}"
if [ "\${FAKE_COMPILE:-}" = no-denort ]; then
  cat <<'EOF' >&2
${NO_DENORT_OUTPUT}
EOF
  exit 1
fi
for arg; do last=$arg; done
while [ $# -gt 0 ]; do [ "$1" = --output ] && out=$2; shift; done
tree=$(mktemp -d "${state}/compiled.XXXXXX")
cp -R "$(dirname "$last")/." "$tree"
printf '#!/bin/sh\\nexec "%s" run --quiet -A --config "%s/deno.runtime.json" --lock "%s/deno.runtime.lock" "%s/main.ts" "$@"\\n' \\
  "${Deno.execPath()}" "$tree" "$tree" "$tree" > "$out"
chmod +x "$out"
`;
}

/** Writes the stand-ins for a Mac or a Linux machine into the sandbox. */
export async function fakeTools(sandbox: Sandbox, os: "Darwin" | "Linux"): Promise<Installer> {
  const tools = join(sandbox.dir, "tools");
  const calls = join(sandbox.dir, "calls.txt");
  const state = join(sandbox.dir, "tool-state");
  const agentDir = join(sandbox.dir, "agent-bin");
  await Deno.mkdir(state, { recursive: true });
  const record = (name: string) => `echo "${name} $*" >> "${calls}"`;
  await writeFile(join(tools, "uname"), `#!/bin/sh\necho ${os}\n`, true);
  await writeFile(
    join(tools, "id"),
    '#!/bin/sh\ncase "$1" in -u) echo "${FAKE_UID:-501}" ;; -un) echo tester ;; esac\n',
    true,
  );
  await writeFile(join(tools, "loginctl"), "#!/bin/sh\necho yes\n", true);
  for (const tool of ["plutil", "sudo"]) {
    await writeFile(join(tools, tool), `#!/bin/sh\n${record(tool)}\n`, true);
  }
  await writeFile(
    join(tools, "systemctl"),
    `#!/bin/sh\n${record("systemctl")}\n${SYSTEMCTL}`,
    true,
  );
  await writeFile(
    join(tools, "launchctl"),
    `#!/bin/sh\n${record("launchctl")}\n${LAUNCHCTL}`,
    true,
  );
  await writeFile(join(tools, "deno"), fakeDeno(calls, state), true);
  await writeFile(join(agentDir, "claude"), "#!/bin/sh\n", true);
  await writeFile(sandbox.config, "jobs: {}\n");
  const logDir = join(sandbox.dir, "log");
  return {
    sandbox,
    calls,
    logDir,
    agentDir,
    state,
    env: {
      HOME: sandbox.home,
      PATH: `${tools}:${agentDir}:/usr/bin:/bin`,
      DENO_DIR: sandbox.env.DENO_DIR!,
      TELECLAUDE_CRON_LOG_DIR: logDir,
      TELECLAUDE_API_SOCKET: sandbox.socket,
      FAKE_STATE: state,
      NO_COLOR: "1",
    },
  };
}

/** Runs a program to its end with exactly `env` (nothing of this process's), no stdin. */
export async function runProgram(
  command: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string },
): Promise<CliResult> {
  const output = await new Deno.Command(command, {
    args,
    ...options,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Runs init.sh with the installer's environment only; `--config` first unless `config` is null. */
export function runInitSh(
  installer: Pick<Installer, "sandbox" | "env">,
  args: string[],
  config: string | null = installer.sandbox.config,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return runProgram(
    "bash",
    [join(ROOT, "init.sh"), ...(config === null ? [] : ["--config", config]), ...args],
    { env: { ...installer.env, ...env }, cwd: installer.sandbox.project },
  );
}

/** The calls the stand-ins recorded, one line each; empty when none was made. */
export async function calls(installer: Installer): Promise<string[]> {
  try {
    return (await Deno.readTextFile(installer.calls)).trim().split("\n").filter(Boolean);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Every file and directory under `dir`, relative to it, sorted; [] when `dir` is not there. */
export async function treeOf(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string) => {
    for await (const entry of Deno.readDir(join(dir, relative))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      found.push(path);
      if (entry.isDirectory) await walk(path);
    }
  };
  try {
    await walk("");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}
