#!/usr/bin/env bash
# Installs teleclaude-cron as a service that runs every 5 minutes:
#   macOS: a launchd agent (~/Library/LaunchAgents/ai.instrukt.teleclaude.cron.plist)
#   Linux: a systemd user timer (~/.config/systemd/user/teleclaude-cron.{service,timer})
# Both run ~/.teleclaude/bin/teleclaude-cron with an absolute config path. That is the compiled
# binary, or, where deno compile cannot get its runtime base (denort), the source form: a small
# launcher that runs a copy of this tree's runtime files (~/.teleclaude/runtime/<version>-<build>/)
# with deno run, the same permission flags and the pinned lockfile. The plist and the units are the
# same for both.
#
# It checks everything it needs before it writes anything; when a later step fails, it takes back
# what this run had put in place. Options and exit statuses: usage() below, or ./init.sh --help.
# launchctl, systemctl, loginctl, plutil, sudo, id, uname and deno come from PATH (the tests put
# stand-ins there).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./init.sh [--config PATH] [--source] [--dry-run]
       ./init.sh --uninstall [--dry-run]

Installs teleclaude-cron as a service that runs every 5 minutes (macOS: a launchd agent; Linux:
a systemd user timer). Run it again any time: what is already in place is left as it is.

  --config PATH  the teleclaude.yml the service runs (default: ./teleclaude.yml)
  --source       install the source form (deno run of a copy of this tree) even where
                 deno compile works
  --dry-run      check everything, then print what would be done; changes nothing
  --uninstall    stop and remove the service and the runner (state and logs are kept)
  -h, --help     print this

Exit status: 0 done; 1 a step failed, and what this run had put in place was taken back
(--uninstall: every file is removed, but something could not be stopped); 2 bad usage, or a
check failed before anything was written; 3 a step failed, and taking it back failed too.

Environment: TELECLAUDE_API_SOCKET, the daemon socket (baked into the service);
TELECLAUDE_CRON_LOG_DIR, the log directory on macOS (default /var/log/instrukt-ai/teleclaude).
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL=ai.instrukt.teleclaude.cron
UNIT=teleclaude-cron
TELECLAUDE="$HOME/.teleclaude"
BIN_DIR="$TELECLAUDE/bin"
BINARY="$BIN_DIR/teleclaude-cron"
RUNTIME_DIR="$TELECLAUDE/runtime"
LOG_DIR=${TELECLAUDE_CRON_LOG_DIR:-/var/log/instrukt-ai/teleclaude}
SOCKET=${TELECLAUDE_API_SOCKET:-/tmp/teleclaude-api.sock}
PLIST="$HOME/Library/LaunchAgents/$LABEL.plist"
SYSTEMD_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
WANTS_LINK="$SYSTEMD_DIR/timers.target.wants/$UNIT.timer"

config="$PWD/teleclaude.yml"
dry_run=0
action=install
want_source=0

say() { printf 'init.sh: %s\n' "$*"; }
warn() { printf 'init.sh: warning: %s\n' "$*" >&2; }
# A check failed before anything was written: exit 2.
refuse() {
  printf 'init.sh: error: %s\n' "$*" >&2
  exit 2
}
# Runs a command, or prints it under --dry-run.
run() {
  if [ "$dry_run" = 1 ]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

while [ $# -gt 0 ]; do
  case $1 in
  --config)
    [ $# -ge 2 ] || refuse "--config needs a path (see --help)"
    config=$2
    shift 2
    ;;
  --dry-run) dry_run=1 && shift ;;
  --uninstall) action=uninstall && shift ;;
  --source) want_source=1 && shift ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) refuse "unknown argument: $1 (see --help)" ;;
  esac
done

# Bash 5.2 would read `&` in a ${var//pattern/replacement} as the matched text: keep it literal.
shopt -u patsub_replacement 2>/dev/null || true

# ---------------------------------------------------------------------------------------------
# Rendering the templates of launchd/ and systemd/, each value escaped for its format. Each runs in a $(…) subshell, where refuse ends only the subshell: callers pass the
# status on.

# Refuses a value no service file can hold at all: a newline or another control character.
require_plain() {
  case $2 in
  *[[:cntrl:]]*) refuse "$1 contains a newline or another control character, which no plist or unit file can hold: $(printf '%q' "$2")" ;;
  esac
}

# XML text (the plist): &, <, >, " as entities.
xml_text() {
  local value=$1
  value=${value//&/&amp;}
  value=${value//</&lt;}
  value=${value//>/&gt;}
  value=${value//\"/&quot;}
  printf '%s' "$value"
}

# A value inside "..." in a systemd unit: backslash and quote escaped, % doubled (systemd expands
# %h and friends); in ExecStart arguments $ is doubled too ($VAR is expanded there).
systemd_quoted() {
  local value=$1
  value=${value//\\/\\\\}
  value=${value//\"/\\\"}
  value=${value//%/%%}
  [ "${2:-}" = exec ] && value=${value//\$/\$\$}
  printf '%s' "$value"
}

# A value systemd takes raw (the executable's name, WorkingDirectory): % doubled; a quote,
# backslash or $ cannot be escaped there, so such a path is refused.
systemd_raw() {
  case $2 in
  *[\"\\\$]*) refuse "$1 contains a quote, backslash or \$, which a systemd unit cannot hold there: $2" ;;
  esac
  printf '%s' "${2//%/%%}"
}

# The value of a @PLACEHOLDER@.
placeholder() {
  case $1 in
  LABEL) printf '%s' "$LABEL" ;;
  BINARY) printf '%s' "$BINARY" ;;
  CONFIG) printf '%s' "$config" ;;
  WORKDIR) dirname "$config" ;;
  HOME) printf '%s' "$HOME" ;;
  PATH) printf '%s' "$service_path" ;;
  SOCKET) printf '%s' "$SOCKET" ;;
  LOG_FILE) printf '%s' "$LOG_DIR/cron.log" ;;
  BACKSTOP) printf '%s' "$backstop" ;;
  esac
}

# Fills the @PLACEHOLDERS@ of a template ($1) for a format ($2: plist or systemd).
render() {
  local text name value escaped
  text=$(cat "$1")
  for name in LABEL BINARY CONFIG WORKDIR HOME PATH SOCKET LOG_FILE BACKSTOP; do
    case $text in *"@$name@"*) ;; *) continue ;; esac
    value=$(placeholder "$name")
    require_plain "$name" "$value" || return
    case $2 in
    plist) escaped=$(xml_text "$value") ;;
    systemd)
      case $name in
      BINARY | WORKDIR) escaped=$(systemd_raw "$name" "$value") || return ;;
      CONFIG) escaped=$(systemd_quoted "$value" exec) ;;
      *) escaped=$(systemd_quoted "$value") ;;
      esac
      ;;
    esac
    text=${text//@$name@/$escaped}
  done
  printf '%s' "$text"
}

# ---------------------------------------------------------------------------------------------
# All or nothing. Every change an install makes is put in `undo` first: restore a file from its
# backup, remove a file or a directory this run created, stop what this run started. A failed
# step (or an interruption) plays them back, newest first.

undo=()
backups=""
in_transaction=0

begin_transaction() {
  backups=$(mktemp -d)
  in_transaction=1
}

# Records how to take back a change, as a command line (eval'd by take_back).
on_undo() {
  undo+=("$(printf '%q ' "$@")")
}

# Records what replacing `target` must be able to undo: its old content, or that it was absent.
before_replacing() {
  local target=$1 copy
  if [ -e "$target" ] || [ -L "$target" ]; then
    copy="$backups/${#undo[@]}"
    cp -pP "$target" "$copy" || return
    on_undo mv -f "$copy" "$target"
  else
    on_undo rm -f "$target"
  fi
}

# mkdir -p, recording each directory it creates (removed again on undo when still empty).
make_dirs() {
  local dir=$1 missing=()
  while [ ! -d "$dir" ]; do
    missing+=("$dir")
    dir=$(dirname "$dir")
  done
  local i
  for ((i = ${#missing[@]} - 1; i >= 0; i--)); do
    mkdir -m 700 "${missing[i]}" || return
    on_undo rmdir "${missing[i]}"
  done
}

# Plays `undo` back, newest first. Exit status 3 when a change could not be taken back.
take_back() {
  local i failed=()
  in_transaction=0
  for ((i = ${#undo[@]} - 1; i >= 0; i--)); do
    eval "${undo[i]}" >/dev/null 2>&1 || failed+=("${undo[i]}")
  done
  rm -rf "$backups"
  if [ "${#failed[@]}" -gt 0 ]; then
    printf 'init.sh: error: could not take back: %s\n' "${failed[@]}" >&2
    return 3
  fi
  say "took back what this run had put in place"
  return 1
}

# A step after the checks failed: say which, take everything back, exit 1 (3 when that failed).
fail() {
  printf 'init.sh: error: %s\n' "$*" >&2
  local status=0
  take_back || status=$?
  exit "$status"
}

# Whatever ends the script while a transaction is open (set -e, a signal) takes it back too.
on_exit() {
  local status=$?
  if [ "$in_transaction" = 1 ]; then
    printf 'init.sh: error: stopped (exit %s) before the install was complete\n' "$status" >&2
    take_back || status=$?
    [ "$status" -ne 0 ] || status=1
  fi
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

commit() {
  in_transaction=0
  rm -rf "$backups"
}

# Writes content to a file (atomically, with this mode) unless it already holds exactly that.
put_file() {
  local target=$1 content=$2 mode=$3 tmp
  put_changed=0
  if [ -f "$target" ] && [ ! -L "$target" ] && [ "$(cat "$target")" = "$content" ]; then
    say "unchanged: $target"
    return
  fi
  put_changed=1
  if [ "$dry_run" = 1 ]; then
    printf '+ write %s\n' "$target"
    return
  fi
  make_dirs "$(dirname "$target")" || return
  tmp=$(mktemp "$target.XXXXXX") || return
  if ! { printf '%s\n' "$content" >"$tmp" && chmod "$mode" "$tmp"; }; then
    rm -f "$tmp"
    return 1
  fi
  before_replacing "$target" || return
  mv -f "$tmp" "$target" || return
  say "wrote $target"
}

# ---------------------------------------------------------------------------------------------
# Checks, before anything is written.

# The permission flags for this HOME and socket (a comma or newline in either cannot be granted).
check_flags() {
  flags=$(HOME=$HOME TELECLAUDE_API_SOCKET=$SOCKET sh "$ROOT/scripts/permission-flags.sh" 2>&1) ||
    refuse "$flags"
}

# A systemd user manager must answer: without one, systemctl --user cannot load the timer.
check_systemd_session() {
  command -v systemctl >/dev/null 2>&1 ||
    refuse "systemctl not found: on Linux the service is a systemd user timer, and this system has no systemd"
  local answer user uid
  answer=$(systemctl --user show-environment 2>&1 >/dev/null) && return 0
  user=$(id -un)
  uid=$(id -u)
  if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    if [ -S "/run/user/$uid/systemd/private" ]; then
      refuse "no systemd user session in this shell: XDG_RUNTIME_DIR is not set, though your user manager runs. Fix: export XDG_RUNTIME_DIR=/run/user/$uid and run init.sh again"
    fi
    refuse "no systemd user session: XDG_RUNTIME_DIR is not set, so no user manager can be reached (systemctl --user: ${answer##*$'\n'}). Fix: log in as $user through ssh or a desktop session (su and sudo start none), or let $user's manager run without a login: sudo loginctl enable-linger $user, then export XDG_RUNTIME_DIR=/run/user/$uid and run init.sh again"
  fi
  refuse "no systemd user manager answers at $XDG_RUNTIME_DIR (systemctl --user: ${answer##*$'\n'}). Fix: log in as $user through ssh or a desktop session, or sudo loginctl enable-linger $user; then run init.sh again from that session"
}

# The timer runs while its user manager runs: with lingering off, only while you are logged in.
note_lingering() {
  local user linger
  user=$(id -un)
  linger=$(loginctl show-user "$user" --property=Linger --value 2>/dev/null) || linger=unknown
  case $linger in
  yes) ;;
  no) say "note: the timer runs only while $user is logged in; to keep it running: sudo loginctl enable-linger $user" ;;
  *) say "note: if the timer should run while $user is logged out: sudo loginctl enable-linger $user" ;;
  esac
}

# A LaunchAgent is loaded into the GUI session of a user logged in at the Mac's desktop.
check_launchd_session() {
  local uid answer
  uid=$(id -u)
  answer=$(launchctl print "gui/$uid" 2>&1 >/dev/null) && return 0
  refuse "no launchd GUI session for uid $uid (launchctl print gui/$uid: ${answer##*$'\n'}): a LaunchAgent runs in the session of a user logged in at this Mac's desktop. Fix: log in there as $(id -un), then run init.sh again (from its Terminal, or over ssh while that session lasts)"
}

warn_if_root() {
  [ "$(id -u)" = 0 ] || return 0
  warn "installing as root: the service will run as root, where claude refuses to skip its permission prompts, so claude jobs would fail; script jobs and the other agents work. Install as your own user to run claude jobs."
}

# Deno and the runner's npm packages, as scripts/bootstrap.sh installs them (quiet when they are
# there). Under --dry-run a missing Deno is only named (and the config checks that need it skip).
ensure_deno() {
  if [ "$dry_run" = 1 ]; then
    command -v deno >/dev/null 2>&1 && return 0
    printf '+ bash %s\n' "$ROOT/scripts/bootstrap.sh"
    return 1
  fi
  bash "$ROOT/scripts/bootstrap.sh" || refuse "Deno could not be installed (see above)"
  export PATH="$HOME/.local/bin:$PATH"
  # The executable itself: npm's `deno` may be a node script that starts it.
  deno_exe=$(deno eval --quiet 'console.log(Deno.execPath())') || refuse "deno does not run"
  deno_dir=$(deno info --json | sed -n 's/^ *"denoDir": "\(.*\)",$/\1/p')
  [ -n "$deno_dir" ] || refuse "deno info --json did not say where Deno's cache is"
}

# The config loads, every agent it uses is found with the service's PATH, and the backstop.
check_config() {
  local report line agent reason
  if ! report=$(deno run --quiet --no-prompt --allow-read --allow-env --frozen \
    --config "$ROOT/deno.runtime.json" --lock "$ROOT/deno.runtime.lock" \
    "$ROOT/scripts/preflight.ts" "$config" "$service_path"); then
    refuse "$config does not load: fix what is named above, then run init.sh again"
  fi
  while IFS= read -r line; do
    case $line in
    "backstop "*) backstop=${line#backstop } ;;
    "missing "*)
      line=${line#missing }
      agent=${line%% *}
      reason=${line#* }
      warn "the service will not find $agent, which jobs of $config use: $reason. Those jobs will fail until it is found: install it, run init.sh again from a shell where \`$agent\` works (its directory goes into the service's PATH), or set agents.$agent.binary"
      ;;
    esac
  done <<<"$report"
}

# The PATH the service gets: the installer's PATH plus wherever the agent CLIs are, absolute,
# without duplicates or relative entries.
build_service_path() {
  local dirs=() dir agent found path_dirs
  for agent in claude codex gemini; do
    if found=$(command -v "$agent" 2>/dev/null); then dirs+=("$(dirname "$found")"); fi
  done
  IFS=: read -r -a path_dirs <<<"$PATH"
  dirs+=("${path_dirs[@]}" /usr/bin /bin /usr/sbin /sbin)
  local seen=":" out=""
  for dir in "${dirs[@]}"; do
    case $dir in /*) ;; *) continue ;; esac
    case $seen in *":$dir:"*) continue ;; esac
    seen="$seen$dir:"
    out=${out:+$out:}$dir
  done
  printf '%s' "$out"
}

# ---------------------------------------------------------------------------------------------
# The runner: compiled where deno compile can get denort, else the source form.

# Compiles a stamped copy of this tree into a new file beside the binary; sets `built`. Returns 2
# (and says so, in one sentence) when deno compile cannot get its runtime base.
build_compiled() {
  local stage output
  stage=$(mktemp -d) || return 1
  if ! output=$(deno run --quiet --no-prompt --no-config --allow-read --allow-write="$stage" \
    "$ROOT/scripts/stage.ts" compiled "$stage"); then
    rm -rf "$stage"
    return 1
  fi
  read -r _ build stage_copy <<<"$output"
  make_dirs "$BIN_DIR" || return 1
  built="$BIN_DIR/.teleclaude-cron.new.$$" # deno compile will not write over a file
  rm -f "$built"
  on_undo rm -f "$built"
  if ! output=$(sh "$ROOT/scripts/compile.sh" "$built" "$stage_copy" 2>&1); then
    rm -rf "$stage"
    rm -f "$built"
    if grep -q -e 'Setting up base binary' -e 'denort-' <<<"$output"; then
      local why="no DENORT_BIN, none cached" url
      url=$(grep -o 'https://[^ )]*denort[^ )]*' <<<"$output" | head -n 1) || true
      [ -z "$url" ] || why="$why, and $url cannot be fetched"
      [ -z "${DENORT_BIN:-}" ] || why="DENORT_BIN=$DENORT_BIN does not work"
      say "deno compile cannot get its runtime base, denort ($why): installing the source form instead, this tree's runtime files run by deno run"
      return 2
    fi
    printf '%s\n' "$output" >&2
    return 1
  fi
  rm -rf "$stage"
  chmod 700 "$built" || return 1 # under ~/.teleclaude: the user's alone
  form=compiled
}

# Copies this tree's runtime files into ~/.teleclaude/runtime/ and caches their npm packages;
# sets `runtime`, `build` and `built` (the launcher's text).
build_source() {
  local output status
  make_dirs "$RUNTIME_DIR" || return 1
  output=$(deno run --quiet --no-prompt --no-config --allow-read --allow-write="$RUNTIME_DIR" \
    "$ROOT/scripts/stage.ts" source "$RUNTIME_DIR") || return 1
  read -r status build runtime <<<"$output"
  [ "$status" != new ] || on_undo rm -rf "$runtime"
  [ "$status" != unchanged ] || say "unchanged: $runtime"
  [ "$status" != new ] || say "copied this tree's runtime files to $runtime"
  # A copy of this build that had been edited or half deleted was replaced whole: said, and kept
  # if a later step fails (it is this build's files, as the service should run them).
  [ "$status" != repaired ] || say "repaired: $runtime (it differed from this tree's files)"
  # The launcher runs with --cached-only: every npm package the runner can load must be cached.
  deno cache --quiet --frozen --config "$runtime/deno.runtime.json" \
    --lock "$runtime/deno.runtime.lock" "$runtime/main.ts" "$runtime/lib/" || return 1
  built=$(HOME=$HOME TELECLAUDE_API_SOCKET=$SOCKET sh "$ROOT/scripts/launcher.sh" "$runtime" \
    "$deno_exe" "$deno_dir") || return 1
  form=source
}

# Puts the runner in place at ~/.teleclaude/bin/teleclaude-cron and checks it answers as itself.
install_runner() {
  if [ "$dry_run" = 1 ]; then
    if [ "$want_source" = 1 ]; then
      printf '+ copy the runtime files to %s/%s-…, write the launcher %s\n' "$RUNTIME_DIR" "$VERSION" "$BINARY"
    else
      printf '+ sh %s %s (where deno compile cannot get denort: the source form in %s)\n' \
        "$ROOT/scripts/compile.sh" "$BINARY" "$RUNTIME_DIR"
    fi
    return
  fi
  # ~/.teleclaude holds the state and logs: private to the user, as the runner makes it.
  make_dirs "$TELECLAUDE" || fail "could not create $TELECLAUDE"
  chmod 700 "$TELECLAUDE" || fail "could not make $TELECLAUDE private (chmod 700)"
  local status=2
  if [ "$want_source" = 0 ]; then
    build_compiled && status=0 || status=$?
    [ "$status" = 2 ] || [ "$status" = 0 ] || fail "deno compile failed (see above)"
  fi
  if [ "$status" = 0 ]; then
    before_replacing "$BINARY" || fail "could not keep a copy of $BINARY"
    mv -f "$built" "$BINARY" || fail "could not put the binary in place at $BINARY"
    say "compiled $BINARY"
  else
    build_source || fail "could not install the source form in $RUNTIME_DIR"
    put_file "$BINARY" "$built" 700 || fail "could not write the launcher $BINARY"
  fi
  check_runner
}

# The runner answers --version with the build just installed, and lists the config.
check_runner() {
  local answer
  answer=$("$BINARY" --version 2>&1) || fail "$BINARY --version failed: $answer"
  case $answer in
  *"build ${build:0:12};"*) ;;
  *) fail "$BINARY --version says \"$answer\", not build ${build:0:12}" ;;
  esac
  answer=$("$BINARY" --config "$config" --list 2>&1 >/dev/null) ||
    fail "$BINARY --list does not run: $answer"
}

# Once installed: other versions' runtime files go, but the one the previous launcher ran
# (a tick may be running it right now).
prune_runtimes() {
  local dir
  [ -d "$RUNTIME_DIR" ] || return 0
  for dir in "$RUNTIME_DIR"/*/ "$RUNTIME_DIR"/.staging-*/; do
    dir=${dir%/}
    [ -d "$dir" ] || continue
    [ "$form" = source ] && [ "$dir" = "$runtime" ] && continue
    [ -n "$previous_runtime" ] && [ "$dir" = "$previous_runtime" ] && continue
    rm -rf "$dir"
  done
  [ "$form" = source ] || [ -n "$previous_runtime" ] || rmdir "$RUNTIME_DIR" 2>/dev/null || true
}

# The runtime directory the launcher in place now runs (empty for a compiled binary or none).
current_runtime() {
  [ -f "$BINARY" ] || return 0
  # The launcher's first lines; a compiled binary has no such line (and is not read through).
  head -n 20 "$BINARY" 2>/dev/null | sed -n "s/^runtime='\(.*\)'\$/\1/p" | head -n 1 |
    sed "s/'\\\\''/'/g"
}

# ---------------------------------------------------------------------------------------------
# The service.

# launchd fails a job with exit 78 and no message when it cannot open StandardOutPath.
ensure_log_dir() {
  if [ -d "$LOG_DIR" ] && [ -w "$LOG_DIR" ]; then return; fi
  if [ "$dry_run" = 0 ] && make_dirs "$LOG_DIR" 2>/dev/null && [ -w "$LOG_DIR" ]; then return; fi
  say "creating $LOG_DIR with sudo (launchd needs to write cron.log there)"
  [ -d "$LOG_DIR" ] || [ "$dry_run" = 1 ] || on_undo sudo rmdir "$LOG_DIR"
  run sudo mkdir -p "$LOG_DIR" || fail "sudo mkdir -p $LOG_DIR failed"
  run sudo chown "$(id -un)" "$LOG_DIR" || fail "sudo chown $(id -un) $LOG_DIR failed"
}

install_launchd() {
  local domain plist loaded=0
  domain="gui/$(id -u)"
  ensure_log_dir
  plist=$(render "$ROOT/launchd/$LABEL.plist" plist) || exit
  launchctl print "$domain/$LABEL" >/dev/null 2>&1 && loaded=1
  # Taken back newest first: bootstrap the old plist again after it is restored.
  if [ "$loaded" = 1 ] && [ -f "$PLIST" ]; then
    on_undo launchctl bootstrap "$domain" "$PLIST"
  fi
  put_file "$PLIST" "$plist" 644 || fail "could not write $PLIST"
  if command -v plutil >/dev/null 2>&1; then
    run plutil -lint "$PLIST" || fail "the rendered plist $PLIST does not lint"
  fi
  service_line="$LABEL runs every 5 minutes; log: $LOG_DIR/cron.log"
  # Booting a loaded job out stops a tick it is running (its job recorded interrupted): only a
  # changed plist is worth that. launchd starts the runner anew every 5 minutes, so a new runner
  # needs no reload.
  if [ "$put_changed" = 0 ] && [ "$loaded" = 1 ]; then
    say "loaded already: $LABEL (its plist is unchanged; a tick it is running is left to finish)"
    return
  fi
  run launchctl bootout "$domain/$LABEL" 2>/dev/null || true
  on_undo launchctl bootout "$domain/$LABEL"
  if ! run launchctl bootstrap "$domain" "$PLIST"; then
    say "launchctl bootstrap failed; falling back to unload/load"
    run launchctl unload "$PLIST" 2>/dev/null || true
    run launchctl load "$PLIST" || fail "launchctl could not load $PLIST"
  fi
  [ "$dry_run" = 1 ] || launchctl print "$domain/$LABEL" >/dev/null 2>&1 ||
    fail "launchd does not list $LABEL after loading it"
}

install_systemd() {
  local service timer enabled
  service=$(render "$ROOT/systemd/$UNIT.service" systemd) || exit
  timer=$(render "$ROOT/systemd/$UNIT.timer" systemd) || exit
  enabled=$(systemctl --user is-enabled "$UNIT.timer" 2>/dev/null) || true
  # Taken back newest first: the manager reloads the restored units, and a timer that was on
  # before is on again.
  [ "$enabled" != enabled ] || on_undo systemctl --user enable --now "$UNIT.timer"
  on_undo systemctl --user daemon-reload
  put_file "$SYSTEMD_DIR/$UNIT.service" "$service" 644 || fail "could not write $UNIT.service"
  put_file "$SYSTEMD_DIR/$UNIT.timer" "$timer" 644 || fail "could not write $UNIT.timer"
  verify_units
  run systemctl --user daemon-reload || fail "systemctl --user daemon-reload failed"
  [ "$enabled" = enabled ] || on_undo systemctl --user disable --now "$UNIT.timer"
  run systemctl --user enable --now "$UNIT.timer" || fail "systemctl --user enable --now $UNIT.timer failed"
  if [ "$dry_run" = 0 ] && ! {
    [ "$(systemctl --user is-enabled "$UNIT.timer" 2>&1)" = enabled ] &&
      [ "$(systemctl --user is-active "$UNIT.timer" 2>&1)" = active ]
  }; then
    fail "$UNIT.timer is not enabled and active after systemctl --user enable --now"
  fi
  service_line="$UNIT.timer runs every 5 minutes; log: journalctl --user -u $UNIT"
}

# systemd's own check of the installed units (when it is there).
verify_units() {
  command -v systemd-analyze >/dev/null 2>&1 || return 0
  local output
  if [ "$dry_run" = 1 ]; then
    printf '+ systemd-analyze verify %s.service %s.timer\n' "$UNIT" "$UNIT"
    return
  fi
  output=$(systemd-analyze verify "$SYSTEMD_DIR/$UNIT.service" "$SYSTEMD_DIR/$UNIT.timer" 2>&1) ||
    fail "systemd-analyze verify rejects the units: $output"
}

# ---------------------------------------------------------------------------------------------
# Uninstall: always goes to the end; every file it owns is removed, and what it could not stop
# is named (exit 1).

not_stopped=()

uninstall_systemd() {
  if systemctl --user show-environment >/dev/null 2>&1; then
    run systemctl --user disable --now "$UNIT.timer" >/dev/null 2>&1 || true
    run systemctl --user stop "$UNIT.service" >/dev/null 2>&1 || true
  else
    not_stopped+=("$UNIT.timer: no systemd user manager answers here (log in as $(id -un) and run init.sh --uninstall again to be sure it stopped)")
  fi
  # With the unit files goes Persistent=true's record of the last run, systemd's file for this timer.
  run rm -f "$WANTS_LINK" "$SYSTEMD_DIR/$UNIT.service" "$SYSTEMD_DIR/$UNIT.timer" \
    "${XDG_DATA_HOME:-$HOME/.local/share}/systemd/timers/stamp-$UNIT.timer"
  [ "$dry_run" = 1 ] || rmdir "$(dirname "$WANTS_LINK")" 2>/dev/null || true
  if [ "${#not_stopped[@]}" -eq 0 ]; then
    run systemctl --user daemon-reload || not_stopped+=("systemctl --user daemon-reload failed")
    if [ "$dry_run" = 0 ] && [ "$(systemctl --user is-active "$UNIT.timer" 2>/dev/null)" = active ]; then
      not_stopped+=("$UNIT.timer is still active")
    fi
  fi
}

uninstall_launchd() {
  local target
  target="gui/$(id -u)/$LABEL"
  if launchctl print "$target" >/dev/null 2>&1; then
    run launchctl bootout "$target" || not_stopped+=("$LABEL: launchctl bootout $target failed")
  fi
  run rm -f "$PLIST"
}

uninstall() {
  if [ "$os" = Darwin ]; then uninstall_launchd; else uninstall_systemd; fi
  run rm -f "$BINARY" "$BIN_DIR"/.teleclaude-cron.new.* "$BINARY".??????
  run rm -rf "$RUNTIME_DIR"
  [ "$dry_run" = 1 ] || rmdir "$BIN_DIR" 2>/dev/null || true
  local done_word=uninstalled
  [ "$dry_run" = 0 ] || done_word="would uninstall"
  if [ "${#not_stopped[@]}" -gt 0 ]; then
    printf 'init.sh: could not stop: %s\n' "${not_stopped[@]}" >&2
    say "$done_word every file: the service files, $BINARY and $RUNTIME_DIR; state and logs in $TELECLAUDE are kept"
    exit 1
  fi
  say "$done_word: the service, $BINARY and $RUNTIME_DIR; state and logs in $TELECLAUDE are kept"
}

# ---------------------------------------------------------------------------------------------

install() {
  [ -f "$config" ] || refuse "config not found: $config (pass --config PATH)"
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  check_flags
  if [ "$os" = Darwin ]; then check_launchd_session; else check_systemd_session; fi
  warn_if_root
  service_path=$(build_service_path)
  backstop=14400
  VERSION=$(sed -n 's/^export const VERSION = "\(.*\)";$/\1/p' "$ROOT/lib/version.ts")
  # Every value must fit this system's service file before anything is written (Deno included).
  if [ "$os" = Darwin ]; then
    render "$ROOT/launchd/$LABEL.plist" plist >/dev/null || exit
  else
    render "$ROOT/systemd/$UNIT.service" systemd >/dev/null || exit
  fi
  if ensure_deno; then check_config; fi
  previous_runtime=$(current_runtime)
  [ "$dry_run" = 1 ] || begin_transaction
  install_runner
  if [ "$os" = Darwin ]; then install_launchd; else install_systemd; fi
  if [ "$dry_run" = 1 ]; then
    say "would install: $service_line, running $BINARY"
    return
  fi
  commit
  prune_runtimes
  local what="the compiled binary"
  [ "$form" = compiled ] || what="the source form (deno run of $runtime)"
  say "installed: $service_line; it runs $BINARY, $what, build ${build:0:12}"
  [ "$os" = Darwin ] || note_lingering
}

os=$(uname -s)
case $os in Darwin | Linux) ;; *) refuse "unsupported system: $os (macOS and Linux are)" ;; esac
if [ "$action" = uninstall ]; then uninstall; else install; fi
