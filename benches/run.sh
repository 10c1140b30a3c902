#!/usr/bin/env bash
# Builds (when needed) and runs libstackless's benchmark programs.
#
#   benches/run.sh                  every benches/bench_*.c program
#   benches/run.sh bench_yield ...  only those
#
# stdout gets only the figures, one `<name> <value>` (or `<name> unavailable: why`) line
# each, as the programs print them (see benches/bench.h for how they time); the build's
# output goes to stderr.
#
# Environment:
#   BUILD_DIR   the CMake build directory (default: build/, the default preset's; configured
#               with `cmake --preset default` when it does not exist yet)
#   BENCH_RUNS  timed runs per figure, the median is reported (default and minimum: 5)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build}

if [ ! -f "$build/CMakeCache.txt" ]; then
  if [ "$build" = "$root/build" ]; then
    (cd "$root" && cmake --preset default) >&2
  else
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTACKLESS_VALGRIND=OFF >&2
  fi
else
  cmake "$build" >&2 # picks up a bench_*.c added since the last configure
fi

if [ $# -gt 0 ]; then
  benches=("$@")
else
  benches=()
  for f in "$root"/benches/bench_*.c; do
    benches+=("$(basename "$f" .c)")
  done
fi

# Builds the library (cargo, through CMake) and the programs.
cmake --build "$build" --parallel 2 --target "${benches[@]}" >&2

for b in "${benches[@]}"; do
  "$build/benches/$b"
done
