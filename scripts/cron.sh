#!/usr/bin/env bash
# Runs the runner from this checkout, installing Deno first when it is missing (scripts/bootstrap.sh):
#   bash scripts/cron.sh --dry-run                 # the example teleclaude.yml: what would run now, and why
#   bash scripts/cron.sh --config PATH [options]   # any config, any mode (see --help)
# It is `deno task cron` (scripts/run.sh, not through deno task: with deno.lock in sight, any
# `deno task` fetches every npm package it pins, the tests' too): the production permission
# flags, state under ~/.teleclaude.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh"
export PATH="$HOME/.local/bin:$PATH"
cd "$root" # as deno task would: the default ./teleclaude.yml is the example beside this script
exec sh "$root/scripts/run.sh" "$@"
