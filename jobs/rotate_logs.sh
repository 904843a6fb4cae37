#!/bin/sh
# Example script job: keeps the newest N files of ./logs (N from --keep, default 14) and prints
# the seed's JobResult as its last line.
keep=14
[ "${1:-}" = "--keep" ] && keep=${2:-14}
removed=0
if [ -d logs ]; then
  for file in $(ls -1t logs | tail -n +"$((keep + 1))"); do
    rm -f "logs/$file" && removed=$((removed + 1))
  done
fi
printf '{"success": true, "message": "kept the newest %s logs", "items_processed": %s, "errors": []}\n' "$keep" "$removed"
