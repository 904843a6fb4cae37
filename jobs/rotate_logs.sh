#!/bin/sh
# Example script job: deletes files in ./logs older than N days (N from --keep, default 14) and
# prints the seed's JobResult as its last line.
keep=14
[ "${1:-}" = "--keep" ] && keep=${2:-14}
removed=0
if [ -d logs ]; then
  removed=$(find logs -type f -mtime +"$keep" -print -delete | wc -l | tr -d ' ')
fi
printf '{"success": true, "message": "removed logs older than %s days", "items_processed": %s, "errors": []}\n' "$keep" "$removed"
