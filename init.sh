#!/usr/bin/env bash
# Installs teleclaude-cron as a service that runs every 5 minutes:
#   macOS: a launchd agent (~/Library/LaunchAgents/ai.instrukt.teleclaude.cron.plist)
#   Linux: a systemd user timer (~/.config/systemd/user/teleclaude-cron.{service,timer})
# Both run the compiled binary ~/.teleclaude/bin/teleclaude-cron with an absolute config path.
#
# Usage: ./init.sh [--config PATH] [--dry-run] [--uninstall]
#   --config PATH  the teleclaude.yml to run (default: ./teleclaude.yml)
#   --dry-run      print every action instead of doing it
#   --uninstall    remove what an install put in place
# launchctl, systemctl, plutil, sudo, uname and deno come from PATH (the tests put fakes there).
# TELECLAUDE_CRON_LOG_DIR overrides the log directory (default /var/log/instrukt-ai/teleclaude).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LABEL=ai.instrukt.teleclaude.cron
UNIT=teleclaude-cron
BIN_DIR="$HOME/.teleclaude/bin"
BINARY="$BIN_DIR/teleclaude-cron"
LOG_DIR=${TELECLAUDE_CRON_LOG_DIR:-/var/log/instrukt-ai/teleclaude}
SOCKET=${TELECLAUDE_API_SOCKET:-/tmp/teleclaude-api.sock}
PLIST="$HOME/Library/LaunchAgents/$LABEL.plist"
SYSTEMD_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"

config="$PWD/teleclaude.yml"
dry_run=0
action=install

say() { printf 'init.sh: %s\n' "$*"; }
die() {
  printf 'init.sh: error: %s\n' "$*" >&2
  exit 1
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
    [ $# -ge 2 ] || die "--config needs a path"
    config=$2
    shift 2
    ;;
  --dry-run)
    dry_run=1
    shift
    ;;
  --uninstall)
    action=uninstall
    shift
    ;;
  -h | --help)
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# Bash 5.2 would read `&` in a ${var//pattern/replacement} as the matched text: keep it literal.
shopt -u patsub_replacement 2>/dev/null || true

# Dies unless a value can be written into a service file at all: no newline, no control characters.
require_plain() {
  case $2 in
  *[[:cntrl:]]*) die "$1 contains a newline or another control character, which no plist or unit file can hold: $(printf '%q' "$2")" ;;
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
  *[\"\\\$]*) die "$1 contains a quote, backslash or \$, which a systemd unit cannot hold there: $2" ;;
  esac
  printf '%s' "${2//%/%%}"
}

# Fills the @PLACEHOLDERS@ of a template ($1) for a format ($2: plist or systemd). It runs in a
# $(…) subshell, where a failed step does not end the script: each is checked.
render() {
  local text name value escaped
  text=$(cat "$1")
  for name in LABEL BINARY CONFIG WORKDIR HOME PATH SOCKET LOG_FILE BACKSTOP; do
    case $text in *"@$name@"*) ;; *) continue ;; esac
    case $name in
    LABEL) value=$LABEL ;;
    BINARY) value=$BINARY ;;
    CONFIG) value=$config ;;
    WORKDIR) value=$(dirname "$config") ;;
    HOME) value=$HOME ;;
    PATH) value=$service_path ;;
    SOCKET) value=$SOCKET ;;
    LOG_FILE) value=$LOG_DIR/cron.log ;;
    BACKSTOP) value=${backstop:-14400} ;;
    esac
    require_plain "$name" "$value" || return 1
    if [ "$2" = plist ]; then
      escaped=$(xml_text "$value") || return 1
    else
      case $name in
      BINARY | WORKDIR) escaped=$(systemd_raw "$name" "$value") || return 1 ;;
      CONFIG) escaped=$(systemd_quoted "$value" exec) || return 1 ;;
      *) escaped=$(systemd_quoted "$value") || return 1 ;;
      esac
    fi
    text=${text//@$name@/$escaped}
  done
  printf '%s' "$text"
}

# Writes content to a file unless it already holds exactly that (a second run changes nothing).
install_file() {
  local target=$1 content=$2
  if [ -f "$target" ] && [ "$(cat "$target")" = "$content" ]; then
    say "unchanged: $target"
    return
  fi
  if [ "$dry_run" = 1 ]; then
    printf '+ write %s\n' "$target"
    return
  fi
  mkdir -p "$(dirname "$target")"
  printf '%s\n' "$content" >"$target"
  say "wrote $target"
}

# The PATH the service gets: the installer's PATH plus wherever the agent CLIs are, absolute,
# without duplicates or relative entries.
build_service_path() {
  local dirs=() dir agent found
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

ensure_deno() {
  if ! command -v deno >/dev/null 2>&1; then
    say "deno not found: installing it as the README does"
    run bash "$ROOT/scripts/bootstrap.sh"
  fi
}

# The same compile as `deno task compile` (scripts/compile.sh), with this socket's permissions.
compile_binary() {
  # ~/.teleclaude holds the state and logs: private to the user, like the runner makes it.
  run mkdir -p -m 700 "$HOME/.teleclaude"
  run mkdir -p "$BIN_DIR"
  if ! TELECLAUDE_API_SOCKET="$SOCKET" run sh "$ROOT/scripts/compile.sh" "$BINARY"; then
    die "deno compile failed (see above)"
  fi
}

# launchd fails a job with exit 78 and no message when it cannot open StandardOutPath.
ensure_log_dir() {
  if [ -d "$LOG_DIR" ] && [ -w "$LOG_DIR" ]; then return; fi
  if [ "$dry_run" = 0 ] && mkdir -p "$LOG_DIR" 2>/dev/null && [ -w "$LOG_DIR" ]; then return; fi
  say "creating $LOG_DIR with sudo (launchd needs to write cron.log there)"
  run sudo mkdir -p "$LOG_DIR"
  run sudo chown "$(id -un)" "$LOG_DIR"
}

# The longest a tick can take: every job timing out in turn, plus a margin.
compute_backstop() {
  local total=0 seconds
  if [ -f "$config" ] && [ "$dry_run" = 0 ] && [ -x "$BINARY" ]; then
    while read -r seconds; do total=$((total + seconds)); done < <(
      "$BINARY" --config "$config" --list --json 2>/dev/null | sed -n 's/.*"timeout_seconds": \([0-9]*\).*/\1/p'
    )
  fi
  [ "$total" -gt 0 ] || total=14400
  backstop=$((total + 600))
}

install_launchd_cron() {
  local plist
  ensure_log_dir
  plist=$(render "$ROOT/launchd/$LABEL.plist" plist) || exit 1
  install_file "$PLIST" "$plist"
  if command -v plutil >/dev/null 2>&1; then
    run plutil -lint "$PLIST" || die "the rendered plist $PLIST does not lint"
  fi
  local domain
  domain="gui/$(id -u)"
  run launchctl bootout "$domain/$LABEL" 2>/dev/null || true
  if ! run launchctl bootstrap "$domain" "$PLIST"; then
    say "launchctl bootstrap failed; falling back to unload/load"
    run launchctl unload "$PLIST" 2>/dev/null || true
    run launchctl load "$PLIST"
  fi
  say "installed: $LABEL runs every 5 minutes; log: $LOG_DIR/cron.log"
}

uninstall_launchd_cron() {
  run launchctl bootout "gui/$(id -u)/$LABEL" 2>/dev/null || true
  run rm -f "$PLIST"
}

install_systemd_cron() {
  local service timer
  compute_backstop
  service=$(render "$ROOT/systemd/$UNIT.service" systemd) || exit 1
  timer=$(render "$ROOT/systemd/$UNIT.timer" systemd) || exit 1
  verify_units "$service" "$timer"
  install_file "$SYSTEMD_DIR/$UNIT.service" "$service"
  install_file "$SYSTEMD_DIR/$UNIT.timer" "$timer"
  run systemctl --user daemon-reload
  run systemctl --user enable --now "$UNIT.timer"
  say "installed: $UNIT.timer runs every 5 minutes; log: journalctl --user -u $UNIT"
  say "to keep it running while you are logged out: loginctl enable-linger $(id -un)"
}

# systemd's own check of the rendered units, before they are installed (when it is there).
verify_units() {
  command -v systemd-analyze >/dev/null 2>&1 || return 0
  if [ "$dry_run" = 1 ]; then
    printf '+ systemd-analyze verify %s.service %s.timer\n' "$UNIT" "$UNIT"
    return
  fi
  local dir output
  dir=$(mktemp -d)
  printf '%s\n' "$1" >"$dir/$UNIT.service"
  printf '%s\n' "$2" >"$dir/$UNIT.timer"
  if ! output=$(systemd-analyze verify "$dir/$UNIT.service" "$dir/$UNIT.timer" 2>&1); then
    rm -rf "$dir"
    die "systemd-analyze verify rejects the rendered units: $output"
  fi
  rm -rf "$dir"
}

uninstall_systemd_cron() {
  run systemctl --user disable --now "$UNIT.timer" 2>/dev/null || true
  run rm -f "$SYSTEMD_DIR/$UNIT.service" "$SYSTEMD_DIR/$UNIT.timer"
  run systemctl --user daemon-reload
}

main() {
  local os
  os=$(uname -s)
  case $os in Darwin | Linux) ;; *) die "unsupported system: $os (macOS and Linux are)" ;; esac
  if [ "$action" = uninstall ]; then
    if [ "$os" = Darwin ]; then uninstall_launchd_cron; else uninstall_systemd_cron; fi
    run rm -f "$BINARY"
    say "uninstalled; state and logs in ~/.teleclaude are kept"
    return
  fi
  [ -f "$config" ] || die "config not found: $config (pass --config PATH)"
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  service_path=$(build_service_path)
  ensure_deno
  compile_binary
  if [ "$os" = Darwin ]; then install_launchd_cron; else install_systemd_cron; fi
}

main
