#!/bin/sh
# Prints the source form's launcher, which init.sh installs as ~/.teleclaude/bin/teleclaude-cron
# where deno compile cannot get its runtime base (denort):
#   sh scripts/launcher.sh RUNTIME DENO DENO_DIR
# RUNTIME is a stamped copy of this tree's runtime files (scripts/stage.ts), DENO the deno
# executable itself (not npm's node wrapper), DENO_DIR the cache its npm packages are in. The
# flags are scripts/permission-flags.sh's for this HOME and TELECLAUDE_API_SOCKET, as a compiled
# binary has them baked in.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 3 ]; then
  echo "usage: sh scripts/launcher.sh RUNTIME DENO DENO_DIR" >&2
  exit 2
fi
flags=$(sh "$root/scripts/permission-flags.sh") || exit $?
# A word for sh: single-quoted, a ' inside as '\''.
quote() {
  printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}
words=""
while IFS= read -r flag; do words="$words $(quote "$flag")"; done <<EOF
$flags
EOF
cat <<EOF
#!/bin/sh
# teleclaude-cron, the source form: init.sh wrote this where deno compile could not get its
# runtime base (denort), or was told --source. It runs this version's files, copied into
# \$runtime, with the permission flags a compiled binary has baked in, and from Deno's cache only
# (--cached-only, --frozen to the copied lockfile): a tick never reaches the network. The
# service runs it exactly as it would run the compiled binary. Re-run init.sh to update it.
runtime=$(quote "$1")
DENO_DIR=$(quote "$3")
DENO_NO_UPDATE_CHECK=1
export DENO_DIR DENO_NO_UPDATE_CHECK
exec $(quote "$2") run --quiet --cached-only --frozen --config "\$runtime/deno.runtime.json" \\
  --lock "\$runtime/deno.runtime.lock"$words "\$runtime/main.ts" "\$@"
EOF
