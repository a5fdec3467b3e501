#!/usr/bin/env bash
# static-bench.sh — issue 13's target: "the statically linked binary's report no slower than
# today's". Times `nsaudit report --snapshot FILE` (read, audit with remediation, render;
# no collection, so the host's state does not enter) with two release binaries of the same
# source, side by side in one run:
#     dynamic   swift build -c release                         (today's: libswift*.so loaded)
#     static    swift build -c release --static-swift-stdlib   (the package's binary)
# Runs alternate (dynamic, static, dynamic, ...) so that load on the machine hits both alike;
# prints each run, the median wall time and peak RSS of each, and static/dynamic as a ratio.
#
# The snapshot is issue 4's big host (report-bench.sh): 100 namespaces of 20 addresses and a
# border router with 1,000,000 IPv4 routes, recorded with `bench/report-bench.sh
# --keep-snapshot` (needs root; its namespaces are deleted when it ends), unless --snapshot
# names an existing one.
#
# Usage: bench/static-bench.sh [--snapshot FILE] [--routes N] [--runs R] [--quick]
#   --snapshot FILE   time this snapshot (no namespaces are made)
#   --routes N        routes in the generated big namespace (default 1,000,000)
#   --runs R          runs of each binary (default 5; the median is compared)
#   --quick           100,000 routes, 20 small namespaces, 3 runs
#   --keep FILE       keep the generated snapshot in FILE
#   DYNAMIC=path STATIC=path   use these binaries instead of building them (scratch
#                     .build-sbench; the static one may be the package's /usr/bin/nsaudit)
set -euo pipefail

SNAP=""; N4=1000000; K=100; RUNS=5; KEEP=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --snapshot) SNAP="$2"; shift 2 ;;
        --routes) N4="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; K=20; RUNS=3; shift ;;
        --keep) KEEP="$2"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "static-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "static-bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }
(( RUNS >= 1 )) || { echo "static-bench: --runs takes a count of at least 1" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsasb

# ---------------------------------------------------------------- the two binaries
build() {  # build FLAGS...: a release build in the shared scratch path (the second only relinks)
    local attempt
    for attempt in 1 2 3; do
        if (cd "$ROOT" && swift build -c release --product nsaudit --scratch-path .build-sbench "$@" >&2); then return 0; fi
        log "build attempt $attempt failed"
    done
    echo "static-bench: release build failed" >&2; exit 1
}
if [[ -z "${DYNAMIC:-}" ]]; then
    log "building the dynamically linked binary (scratch .build-sbench)"
    build; DYNAMIC="$WORK/nsaudit-dynamic"; cp "$ROOT/.build-sbench/release/nsaudit" "$DYNAMIC"
fi
if [[ -z "${STATIC:-}" ]]; then
    log "building the statically linked binary (--static-swift-stdlib)"
    build --static-swift-stdlib; STATIC="$WORK/nsaudit-static"; cp "$ROOT/.build-sbench/release/nsaudit" "$STATIC"
fi
for b in "$DYNAMIC" "$STATIC"; do [[ -x "$b" ]] || { echo "static-bench: $b is not executable" >&2; exit 2; }; done
ldd "$DYNAMIC" | grep -q libswiftCore || { echo "static-bench: $DYNAMIC does not load libswiftCore: not the dynamic build" >&2; exit 2; }
! ldd "$STATIC" | grep -q 'libswift\|libFoundation' || { echo "static-bench: $STATIC loads the Swift runtime: not the static build" >&2; exit 2; }

# ---------------------------------------------------------------- the snapshot
if [[ -z "$SNAP" ]]; then
    [[ $EUID -eq 0 ]] || { echo "static-bench: needs root to make the snapshot (or give --snapshot FILE)" >&2; exit 2; }
    SNAP="${KEEP:-$WORK/host.json}"
    log "recording the big host ($N4 routes, $K small namespaces) with report-bench.sh --keep-snapshot"
    NSAUDIT="$DYNAMIC" "$HERE/report-bench.sh" --routes "$N4" --namespaces "$K" --runs 1 --keep-snapshot "$SNAP" > /dev/null
fi
[[ -r "$SNAP" ]] || { echo "static-bench: cannot read $SNAP" >&2; exit 2; }

# ---------------------------------------------------------------- timing
: > "$WORK/dynamic.runs"; : > "$WORK/static.runs"
one() {  # one NAME BINARY: one report run, "wall rss" appended to NAME.runs
    local name=$1 bin=$2 t0 t1 rc=0
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$WORK/rss" "$bin" report --snapshot "$SNAP" --fail-on never \
        --lock "$WORK/lock" -o "json:$WORK/$name.json" 2> "$WORK/err" || rc=$?
    t1=$EPOCHREALTIME
    (( rc == 0 )) || { cat "$WORK/err" >&2; echo "static-bench: $name exited $rc" >&2; exit 1; }
    local wall; wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    echo "$wall $(( $(cat "$WORK/rss") / 1024 ))" >> "$WORK/$name.runs"
    log "$name run: $wall s, $(( $(cat "$WORK/rss") / 1024 )) MB"
}
log "timing nsaudit report --snapshot $(basename "$SNAP") ($(du -h "$SNAP" | cut -f1)), $RUNS run(s) of each, alternating"
one dynamic "$DYNAMIC" > /dev/null  # warm the page cache with the snapshot; not counted
: > "$WORK/dynamic.runs"
for ((r = 1; r <= RUNS; r++)); do one dynamic "$DYNAMIC"; one static "$STATIC"; done
# The two reports are the same audit (the time, duration and generator aside).
python3 - "$WORK/dynamic.json" "$WORK/static.json" <<'PY' || { echo "static-bench: the two binaries' reports differ" >&2; exit 1; }
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for r in (a, b):
    for k in ("generated_at", "duration_seconds", "generator"):
        r.pop(k, None)
sys.exit(0 if a == b else 1)
PY

median() { sort -n "$1" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'; }
read -r dw dr <<< "$(median "$WORK/dynamic.runs")"
read -r sw sr <<< "$(median "$WORK/static.runs")"
ratio=$(awk -v s="$sw" -v d="$dw" 'BEGIN { printf "%.3f", s / d }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.0) ? "met (static no slower)" : (r <= 1.03 ? "within noise (<= 3% slower)" : "MISSED (static slower)") }')
echo
echo "nsaudit report --snapshot ($(du -h "$SNAP" | cut -f1) snapshot), $(nproc) cores, median of $RUNS alternating runs"
printf '| %-10s | %8s | %7s | %-44s |\n' "binary" "wall s" "RSS MB" "size, dynamic libraries"
printf '|%s|%s|%s|%s|\n' "------------" "----------" "---------" "----------------------------------------------"
printf '| %-10s | %8s | %7s | %-44s |\n' dynamic "$dw" "$dr" "$(du -h "$DYNAMIC" | cut -f1), $(ldd "$DYNAMIC" | grep -c '=>') libraries"
printf '| %-10s | %8s | %7s | %-44s |\n' static "$sw" "$sr" "$(du -h "$STATIC" | cut -f1), $(ldd "$STATIC" | grep -c '=>') libraries"
echo "static / dynamic wall time: $ratio — target <= 1.0: $verdict"
