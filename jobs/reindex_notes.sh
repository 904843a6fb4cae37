#!/bin/sh
# Example of a discovered job: no config entry, so --list shows it as "unscheduled" and it runs
# only with --force --job reindex_notes.
echo "notes reindexed"
