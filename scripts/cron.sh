#!/usr/bin/env bash
# Runs the runner from this checkout, installing Deno first when it is missing (scripts/bootstrap.sh):
#   bash scripts/cron.sh --dry-run                 # the example teleclaude.yml: what would run now, and why
#   bash scripts/cron.sh --config PATH [options]   # any config, any mode (see --help)
# It is `deno task cron`: the production permission flags, state under ~/.teleclaude.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh" >&2
export PATH="$HOME/.local/bin:$PATH"
cd "$root"
exec deno task --quiet cron "$@"
