#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh), then configures and builds facegan in build/ (or
# $FACEGAN_BUILD_DIR). Extra arguments go to CMake's configure step.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FACEGAN_BUILD_DIR:-$repo/build}
bash "$repo/scripts/setup.sh"

# Absolute paths under the clone become relative in ccache's hash, so a fresh clone elsewhere
# reuses the objects of an earlier one.
export CCACHE_BASEDIR="$repo"
export CCACHE_NOHASHDIR=1
echo "build: configuring $build"
mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" > "$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  exit 1
}
echo "build: compiling with $(nproc) jobs"
start=$(date +%s)
cmake --build "$build" -j "$(nproc)"
echo "build: done in $(($(date +%s) - start)) s"
