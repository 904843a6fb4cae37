#!/bin/sh
# `deno task compile`: the runner as one executable (default dist/teleclaude-cron), with the
# production permission flags baked in. --include lib: main.ts loads some of its modules by URL
# (lib/lazy.ts), which Deno's module graph does not name. deno compile downloads its runtime base
# (denort) on first use; DENORT_BIN names a local one instead.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
output=${1:-$root/dist/teleclaude-cron}
flags=$(sh "$root/scripts/permission-flags.sh") || exit $?
IFS='
'
set -f
# shellcheck disable=SC2086 # one flag per line, split on newlines only
if ! deno compile $flags --include "$root/lib" --output "$output" "$root/main.ts"; then
  echo "deno compile failed: it downloads its runtime base (denort) on first use; check the network or set DENORT_BIN to a denort binary" >&2
  exit 1
fi
