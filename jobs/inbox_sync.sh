#!/bin/sh
# Example script job: stands in for a real sync; exits 0.
echo "inbox in sync"
