#!/bin/sh
# `deno task compile`: the runner as one executable (default dist/teleclaude-cron), with the
# production permission flags baked in:
#   sh scripts/compile.sh [OUTPUT [SOURCE]]
# SOURCE is the tree to compile (default: this one); init.sh passes the stamped copy it made with
# scripts/stage.ts. It compiles with the runner's own Deno config (deno.runtime.json and .lock:
# scripts/runtime_config.ts), so the binary embeds no package only the tests use. --include lib: main.ts loads some of its modules by URL (lib/lazy.ts), which
# Deno's module graph does not name. deno compile downloads its runtime base (denort) on first
# use; DENORT_BIN names a local one instead.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
output=${1:-$root/dist/teleclaude-cron}
source=${2:-$root}
flags=$(sh "$root/scripts/permission-flags.sh") || exit $?
IFS='
'
set -f
# shellcheck disable=SC2086 # one flag per line, split on newlines only
if ! deno compile $flags --include "$source/lib" --config "$source/deno.runtime.json" \
  --lock "$source/deno.runtime.lock" --frozen \
  --output "$output" "$source/main.ts"; then
  echo "deno compile failed: it downloads its runtime base (denort) on first use; check the network or set DENORT_BIN to a denort binary" >&2
  exit 1
fi
