#!/usr/bin/env bash
# Installs everything teleclaude-cron needs to run and to be tested:
#   - Deno, when `deno` is not on PATH, from the npm package `deno` (pinned below), which ships
#     the real binary for this platform;
#   - the npm packages of deno.json's import map (yaml, zod), into Deno's cache, as deno.lock pins.
# Safe to run again: it installs only what is missing.
set -euo pipefail

DENO_VERSION=2.9.6
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! command -v deno >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bootstrap: deno is not installed and npm is not there to install it; install Node.js (npm) or Deno $DENO_VERSION first" >&2
    exit 1
  fi
  echo "bootstrap: installing deno $DENO_VERSION from the npm registry"
  if ! npm install --global --no-fund --no-audit "deno@$DENO_VERSION"; then
    # No write access to npm's global prefix: install for this user instead.
    npm install --global --prefix "$HOME/.local" --no-fund --no-audit "deno@$DENO_VERSION"
    export PATH="$HOME/.local/bin:$PATH"
    echo "bootstrap: deno is in $HOME/.local/bin; add it to PATH in your shell profile" >&2
  fi
fi

installed=$(deno --version | head -n 1)
echo "bootstrap: $installed"
case $installed in
"deno $DENO_VERSION "*) ;;
*) echo "bootstrap: note: this project is tested with deno $DENO_VERSION" >&2 ;;
esac

cd "$root"
# Fetch the npm dependencies exactly as deno.lock records them.
deno cache --frozen main.ts lib/ tests/ bench/
echo "bootstrap: ready"
