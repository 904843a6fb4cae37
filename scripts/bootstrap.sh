#!/usr/bin/env bash
# Installs what teleclaude-cron needs, and only what is missing:
#   - Deno, when `deno` is not on PATH, from the npm package `deno` (pinned below), which ships
#     the real binary for this platform;
#   - the npm packages the runner loads (yaml, zod) into Deno's cache, as deno.lock pins them;
#     with --tests also those only the tests and benchmarks use (kubernetes-models and its ajv,
#     parse-prometheus-text-format).
# Silent when everything is there; one line on stderr for each thing it installs, and the
# installer's own output only when it fails (npm's warnings, such as its "install scripts not
# yet covered by allowScripts" for deno's postinstall, are not failures).
#   bash scripts/bootstrap.sh [--tests]
set -euo pipefail

DENO_VERSION=2.9.6
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The runner alone: its own config and lockfile (scripts/runtime_config.ts). With deno.lock in
# sight Deno fetches every package it pins, those of the tests too.
targets=(--config deno.runtime.json --lock deno.runtime.lock main.ts lib/)
packages="the runner's npm packages"
case ${1:-} in
--tests)
  targets=(main.ts lib/ tests/ bench/)
  packages="the npm packages of the runner and its tests"
  ;;
"") ;;
*)
  echo "usage: bash scripts/bootstrap.sh [--tests]" >&2
  exit 2
  ;;
esac

# Runs npm quietly: its output is shown only when it fails.
quiet_npm() {
  local log status=0
  log=$(mktemp)
  npm "$@" >"$log" 2>&1 || status=$?
  [ "$status" = 0 ] || cat "$log" >&2
  rm -f "$log"
  return "$status"
}

if ! command -v deno >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: deno is not installed and npm is not there to install it; install Node.js (npm) or Deno $DENO_VERSION first" >&2
    exit 1
  fi
  echo "bootstrap: installing deno $DENO_VERSION from the npm registry (about 40 MB)" >&2
  if ! quiet_npm install --global --no-fund --no-audit "deno@$DENO_VERSION" 2>/dev/null; then
    # No write access to npm's global prefix: install for this user instead.
    quiet_npm install --global --prefix "$HOME/.local" --no-fund --no-audit "deno@$DENO_VERSION"
    export PATH="$HOME/.local/bin:$PATH"
    echo "bootstrap: deno is in $HOME/.local/bin; add it to PATH in your shell profile" >&2
  fi
fi

installed=$(deno --version | head -n 1)
case $installed in
"deno $DENO_VERSION "*) ;;
*) echo "bootstrap: note: this project is tested with deno $DENO_VERSION, this is $installed" >&2 ;;
esac

# The npm packages, exactly as deno.lock records them. Deno prints a line per download; one
# line of ours says it is fetching, and Deno's own lines are shown only when it fails.
cd "$root"
log=$(mktemp)
set +e
deno cache --frozen "${targets[@]}" 2>&1 | {
  announced=0
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    case $line in
    *Download*)
      [ "$announced" = 1 ] || echo "bootstrap: fetching $packages into Deno's cache" >&2
      announced=1
      ;;
    esac
  done
}
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || cat "$log" >&2
rm -f "$log"
exit "$status"
