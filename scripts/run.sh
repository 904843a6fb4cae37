#!/bin/sh
# `deno task cron`: runs main.ts with the production permission flags (scripts/permission-flags.sh)
# and the runner's own Deno config (deno.runtime.json and .lock: scripts/runtime_config.ts), so a
# fresh machine fetches only the npm packages the runner loads.
# When the flags cannot be made (HOME unset, a relative TELECLAUDE_API_SOCKET) it stops with that
# script's message and exit status, rather than starting the runner with no permissions at all.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
flags=$(sh "$root/scripts/permission-flags.sh") || exit $?
# One flag per line: split on newlines only, so a HOME with spaces stays one argument.
IFS='
'
set -f
# shellcheck disable=SC2086 # the split above is the point
exec deno run --config "$root/deno.runtime.json" --lock "$root/deno.runtime.lock" --frozen \
  $flags "$root/main.ts" "$@"
