#!/bin/sh
# The runner's Deno permission flags, one per line: the single source for `deno task cron`,
# `deno task compile`, init.sh and the tests that spawn main.ts (tests/cli_test.ts checks that
# they all use it).
#
# Least privilege, and why each grant is as wide as it is:
#   read   unscoped: the config lives anywhere (--config), and the agent binary is searched for
#          in PATH and the usual install places.
#   write  only ~/.teleclaude (state, lock, logs, cache) and the daemon socket (connect needs it).
#   net    only the daemon's Unix socket.
#   env    unscoped: the job's environment is passed through to the agent.
#   sys    only the host name: the computer's name where no TELECLAUDE_COMPUTER says it.
#   run    unscoped: script jobs are arbitrary programs, Deno.kill(-pgid) signals a whole process
#          group, and spawning with LD_* variables in the environment both require it.
# Deno permission scopes cannot name "the socket in $TELECLAUDE_API_SOCKET, else the default", and
# deno.json permission sets neither expand $HOME nor stay quiet, hence this script.
set -eu
home=${HOME:?HOME must be set}
socket=${TELECLAUDE_API_SOCKET:-/tmp/teleclaude-api.sock}
case $socket in
/*) ;;
*)
  echo "TELECLAUDE_API_SOCKET must be an absolute path, got: $socket" >&2
  exit 2
  ;;
esac
# Deno splits its permission lists on every comma, with no escape (Deno 2.9.6 reads `,,` as an
# empty path), and these flags are one per line: a path with either would grant the wrong thing,
# and the runner could not write its own files. lib/paths.ts checkGrantable refuses the same at
# every tick, with the same words.
newline='
'
for name in HOME TELECLAUDE_API_SOCKET; do
  if [ "$name" = HOME ]; then value=$home; else value=$socket; fi
  case $value in
  *,*) bad="a comma" ;;
  *"$newline"*) bad="a newline" ;;
  *) continue ;;
  esac
  echo "$name \"$value\" has $bad, which the runner's permission flags cannot carry (Deno splits its lists on commas; the flags are one per line), so it could not write there: use a $name without commas or newlines" >&2
  exit 2
done
printf '%s\n' \
  --no-prompt \
  --allow-read \
  "--allow-write=$home/.teleclaude,$socket" \
  "--allow-net=unix:$socket" \
  --allow-env \
  --allow-sys=hostname \
  --allow-run
