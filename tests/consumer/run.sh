#!/usr/bin/env bash
# CTest's consumer test: install facegan from the build tree into a scratch prefix, then configure,
# build and run tests/consumer against it with find_package(facegan).
set -euo pipefail
build=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work="$build/consumer-test"
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} > "$work.configure.log" 2>&1 \
  || { cat "$work.configure.log"; exit 1; }
cmake --build "$work/build" > "$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
"$work/build/consumer"
