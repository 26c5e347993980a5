#!/usr/bin/env bash
# Keeps facegan's layers one-way (docs/architecture.md, "Layers"): reads every #include of a
# facegan header in include/facegan/ and src/ and fails, naming the file and the include, when a
# file includes one of a higher layer. It reads text only, so it runs before (and without) a build.
# Usage: check.sh [REPO_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"

# The layer of a path under include/facegan/ or src/ (lowest first; a file may include its own
# layer and those below). A folder missing here fails the check, so that a new one is placed on
# purpose.
layer_of() {
  case "$1" in
    core/* | metrics/*) echo 1 ;;
    data/*) echo 2 ;;
    models/blocks/* | losses/*) echo 3 ;;
    train/*) echo 4 ;;
    models/*) echo 5 ;;  # every paper's networks, task and inference API; weight interop
    builtin/*) echo 6 ;;
    eval/* | experiment/*) echo 7 ;;
    facegan.hpp) echo 8 ;;  # the umbrella header includes everything
    *) echo 0 ;;
  esac
}
names=("" "core, metrics" data "models/blocks, losses" train "models/<paper>" builtin "eval, experiment"
       "facegan.hpp")

failures=0
while IFS= read -r file; do
  case "$file" in
    include/facegan/*) own=${file#include/facegan/} ;;
    *) own=${file#src/} ;;
  esac
  from=$(layer_of "$own")
  if [[ $from == 0 ]]; then
    echo "$file: its folder has no layer in tests/layers/check.sh"
    failures=$((failures + 1))
    continue
  fi
  # <facegan/X> names X under include/facegan/; "X" (a private header of src/) is relative to the file.
  while IFS= read -r line; do
    if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<facegan/([^\>]+)\> ]]; then
      target=${BASH_REMATCH[1]}
    elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
      target=$(realpath -m --relative-to=src "$(dirname "$file")/${BASH_REMATCH[1]}")
    else
      continue
    fi
    to=$(layer_of "$target")
    include=${line#"${line%%[![:space:]]*}"}
    if [[ $to == 0 ]]; then
      echo "$file: $include: its folder has no layer in tests/layers/check.sh"
      failures=$((failures + 1))
    elif ((to > from)); then
      echo "$file: $include: ${names[$from]} (layer $from) includes ${names[$to]} (layer $to)"
      failures=$((failures + 1))
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(find include/facegan src -type f \( -name '*.hpp' -o -name '*.h' -o -name '*.cpp' \) | sort)

if ((failures > 0)); then
  echo "layers: $failures include(s) run against the layer order"
  exit 1
fi
echo "layers: every include of include/facegan/ and src/ runs down the layer order"
