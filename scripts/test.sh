#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine with nothing but npm: installs Deno and the
# npm dependencies, the tests' included, first (scripts/bootstrap.sh --tests), then `deno task test`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh" --tests
export PATH="$HOME/.local/bin:$PATH"
cd "$root"
deno task test
