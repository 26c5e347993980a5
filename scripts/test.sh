#!/usr/bin/env bash
# The whole test suite: set up, build (library, tests, examples), then run every CTest test: the
# Catch2 cases and the consumer project built against the installed package.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FACEGAN_BUILD_DIR:-$repo/build}
bash "$repo/scripts/build.sh"
echo "test: running the suite"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600
