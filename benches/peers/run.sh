#!/usr/bin/env bash
# Runs libstackless's benchmark workloads side by side with the peers a user would otherwise
# pick, in one run on this machine, and prints one Markdown table.
#
#   benches/peers/run.sh
#
# 1. Installs what is missing, from Debian's packages (apt-get, as root or through sudo):
#    g++, libboost-context-dev, libboost-fiber-dev, golang-go.
# 2. Builds libstackless and its benchmark programs (benches/run.sh: CMake, in build/ or
#    $BUILD_DIR) and the peer programs in benches/peers/ (into $BUILD_DIR/peers):
#      fiber_bench.cpp     Boost.Fiber: this_fiber::yield, unbuffered_channel ping-pong,
#                          spawn + join, fibers blocked on a channel
#      go/main.go          Go with GOMAXPROCS=1: runtime.Gosched, unbuffered chan ping-pong,
#                          go + WaitGroup, goroutines blocked on a chan (spawn also with
#                          GOMAXPROCS=2, every core of this machine)
#      context_bench.cpp   a raw Boost.Context switch (jump_fcontext, and continuation): the
#                          floor under any hard switch
# 3. Runs them all, one after the other, and prints the table: each system's figure (the
#    median of BENCH_RUNS >= 5 timed runs, see benches/bench.h), the best peer, and
#    libstackless's ratio to it (below 1: libstackless is ahead). Soft rows are compared
#    with the peers' only (hard) figure for the same workload.
#
# Raw output lines go to $BUILD_DIR/peers/raw.txt; everything but the table goes to stderr.
#
# A note on the raw switch: on this VM (a 2-vCPU Xeon) a jump_fcontext ping-pong between two
# long-lived contexts runs at ~4 ns per switch at first, but once the same pair is re-entered
# after main did something else, the same loop settles at ~75-85 ns per switch. With a fresh
# context per timed run (as here) it stays at ~4 ns. Programs that switch between long-lived
# stacks (Boost.Fiber's yield with 2 fibers) may be paying that effect.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$root/build}
out="$BUILD_DIR/peers"

# ---- 1. dependencies --------------------------------------------------------------------
need=()
for pkg in g++ libboost-context-dev libboost-fiber-dev golang-go; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
    need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "installing ${need[*]}" >&2
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}" >&2
fi

# ---- 2. build ---------------------------------------------------------------------------
mkdir -p "$out"
# libstackless's programs are built by benches/run.sh below (it builds before it runs).
cxx=(g++ -std=c++17 -O2 -Wall -Wextra -Werror)
"${cxx[@]}" -o "$out/fiber_bench" "$here/fiber_bench.cpp" -lboost_fiber -lboost_context >&2
"${cxx[@]}" -o "$out/context_bench" "$here/context_bench.cpp" -lboost_context >&2
(cd "$here/go" && GOCACHE=${GOCACHE:-$out/gocache} GOTOOLCHAIN=local go build -o "$out/go_bench" .) >&2

# ---- 3. run -----------------------------------------------------------------------------
raw="$out/raw.txt"
: >"$raw"
run() { # system command...
  local sys=$1
  shift
  echo "running $sys: $*" >&2
  "$@" | sed "s/^/$sys /" | tee -a "$raw" >&2
}
run libstackless "$root/benches/run.sh"
run boost_fiber "$out/fiber_bench"
run go env GOMAXPROCS=1 "$out/go_bench"
run go2 env GOMAXPROCS=2 "$out/go_bench" -procs 2
run boost_context "$out/context_bench"

python3 - "$raw" <<'EOF'
import sys

fig = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3:
        try:
            fig[(parts[0], parts[1])] = float(parts[2])
        except ValueError:
            pass  # "<name> unavailable: ..."

def get(sys_, key):
    return fig.get((sys_, key))

# workload, unit, libstackless key, peer key (Boost.Fiber, Go), target (None: none set)
ROWS = [
    ("yield, 2 tasklets, hard", "ns/yield", "yield_2_hard_ns_per_op", "yield_2_hard_ns_per_op", 10),
    ("yield, 2 tasklets, soft", "ns/yield", "yield_2_soft_ns_per_op", "yield_2_hard_ns_per_op", 6),
    ("yield, 1000 tasklets, hard", "ns/yield", "yield_1000_hard_ns_per_op", "yield_1000_hard_ns_per_op", 15),
    ("yield, 1000 tasklets, soft", "ns/yield", "yield_1000_soft_ns_per_op", "yield_1000_hard_ns_per_op", None),
    ("channel message, hard", "ns/msg", "channel_hard_ns_per_msg", "channel_hard_ns_per_msg", 25),
    ("channel message, soft", "ns/msg", "channel_soft_ns_per_msg", "channel_hard_ns_per_msg", 15),
    ("spawn + complete", "ns/tasklet", "spawn_complete_ns_per_tasklet", "spawn_complete_ns_per_tasklet", 30),
    ("blocked tasklet (100k), hard", "bytes", "blocked_100k_hard_bytes_per_tasklet", "blocked_100k_hard_bytes_per_tasklet", 4608),
    ("blocked tasklet (100k), soft", "bytes", "blocked_100k_soft_bytes_per_tasklet", "blocked_100k_hard_bytes_per_tasklet", 256),
    ("blocked tasklet (1M), soft", "bytes", "blocked_1m_soft_bytes_per_tasklet", "blocked_100k_hard_bytes_per_tasklet", 256),
    ("non-interrupting tick (inline PyStackless_TickWith)", "ns/tick", "tick_inline_ns_per_op", None, 1.5),
    ("non-interrupting tick (exported PyStackless_Tick)", "ns/tick", "tick_ns_per_op", None, None),
    ("interrupt round trip", "ns/trip", "interrupt_roundtrip_ns_per_op", None, None),
]

def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "bytes":
        return f"{v:.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"

head = ["workload", "unit", "libstackless", "Boost.Fiber", "Go (GOMAXPROCS=1)",
        "Boost.Context raw switch", "best peer", "libstackless / best peer", "target", "met"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
for name, unit, lkey, pkey, target in ROWS:
    ls = get("libstackless", lkey)
    bf = get("boost_fiber", pkey) if pkey else None
    go = get("go", pkey) if pkey else None
    cells_bf, cells_go = fmt(bf, unit), fmt(go, unit)
    if pkey == "spawn_complete_ns_per_tasklet":
        go2 = get("go2", "spawn_complete_ns_per_tasklet_procs2")
        if go2 is not None:
            cells_go += f" (GOMAXPROCS=2: {fmt(go2, unit)})"
            go = min(go, go2) if go is not None else go2
    floor = None
    if lkey == "yield_2_hard_ns_per_op":
        floor = get("boost_context", "switch_fcontext_ns_per_op")
    peers = [(v, n) for v, n in ((bf, "Boost.Fiber"), (go, "Go")) if v is not None]
    best = min(peers) if peers else None
    ratio = f"{ls / best[0]:.2f}" if (ls is not None and best) else "—"
    tgt = "—" if target is None else (f"<= {target:.0f}" if unit == "bytes" else f"<= {target:g}")
    met = "—" if (target is None or ls is None) else ("yes" if ls <= target else "no")
    lines.append("| " + " | ".join([
        name, unit, fmt(ls, unit), cells_bf, cells_go, fmt(floor, unit),
        f"{best[1]} {fmt(best[0], unit)}" if best else "—", ratio, tgt, met]) + " |")
print("\n".join(lines))
missing = [l.rstrip() for l in open(sys.argv[1]) if "unavailable" in l]
for m in missing:
    print(f"\nnot measured: {m}")
EOF
