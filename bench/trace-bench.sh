#!/usr/bin/env bash
# trace-bench.sh — issue 14's performance targets for `nsaudit trace`:
#
#   "a trace from a snapshot of 100 namespaces plus one with 1M routes <= 2 s with the load;
#    --batch of 10,000 flows over the 100 namespaces <= 1 s after the load"
#
# The host is report-bench.sh's (100 small namespaces in groups of server, data router,
# management router and client joined by veth pairs, 20 addresses each, half of the groups
# broken, half fixed by source routing; one border router with 1,000,000 IPv4 routes),
# built and snapshotted by `report-bench.sh --runs 1 --keep-snapshot` (which also times its
# reports: ignore those lines here). Then, on that snapshot file, release build:
#   single-big    `nsaudit trace` of one flow through the 1M-route namespace (the whole
#                 process: load, the model of the namespaces it enters, the trace, output)
#   single-small  one flow from a client through its routers to the server and back
#   batch         `nsaudit trace --batch` of 10,000 flows over the 100 small namespaces
#                 (JSON lines); the figure is the time after the load (models of the start
#                 namespaces built, flows traced, rendered and written), from --timing
# Each measurement is run R times; the median is printed next to its target, as a ratio.
#
# Usage: bench/trace-bench.sh [--routes N] [--namespaces K] [--flows F] [--runs R] [--quick]
#   --quick   100,000 routes, 20 namespaces, 2,000 flows, 1 run
#   NSAUDIT=path  use this binary instead of building release (scratch .build-tbench)
# Needs root (report-bench.sh builds the namespaces, named nsarb-<pid>-..., and deletes them
# on exit, also on failure). No packet is sent.
set -euo pipefail

N4=1000000; K=100; F=10000; RUNS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --routes) N4="$2"; shift 2 ;;
        --namespaces) K="$2"; shift 2 ;;
        --flows) F="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; K=20; F=2000; RUNS=1; shift ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "trace-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "trace-bench: needs root (report-bench.sh builds namespaces)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsatb
bench_binary .build-tbench trace-bench
export NSAUDIT

SNAP="$WORK/host.json"
log "building the host and its snapshot with report-bench.sh ($K namespaces, $N4 routes)"
"$HERE/report-bench.sh" --routes "$N4" --namespaces "$K" --runs 1 --keep-snapshot "$SNAP" > "$WORK/report-bench.out"
log "snapshot: $(du -m "$SNAP" | cut -f1) MB"

# Namespace ids as the snapshot has them (report-bench's prefix carries its pid).
mapfile -t IDS < <(grep -o '"id":"nsarb-[0-9]*-[a-z0-9]*"' "$SNAP" | sed 's/"id":"\(.*\)"/\1/' | sort -u)
BIG=""; for id in "${IDS[@]}"; do [[ $id == *-big ]] && BIG=$id; done
[[ -n "$BIG" ]] || { echo "trace-bench: no big namespace in the snapshot" >&2; exit 1; }
P=${BIG%big}
G=$((K / 4))

# F flows over the small namespaces: clients to the management and data addresses of their
# server (tcp/22, tcp/80, ping), servers back to clients, routers to servers and clients.
awk -v f="$F" -v g="$G" -v p="$P" 'BEGIN {
    for (i = 0; i < f; i++) {
        k = i % g; sp = 32768 + i % 28000;
        t = int(i / g) % 6;
        if (t == 0)      printf "netns %sc%d 10.99.%d.40 ipproto tcp sport %d dport 22\n", p, k, k, sp;
        else if (t == 1) printf "netns %sc%d 10.20.%d.%d ipproto tcp sport %d dport 80\n", p, k, k, 40 + i % 8, sp;
        else if (t == 2) printf "netns %sc%d 10.99.%d.%d from 192.168.%d.10\n", p, k, k, 40 + i % 5, 100 + k;
        else if (t == 3) printf "netns %ss%d 192.168.%d.%d ipproto udp sport 53 dport %d\n", p, k, k, 10 + i % 7, sp;
        else if (t == 4) printf "netns %sd%d 10.99.%d.40 ipproto tcp sport %d dport 22\n", p, k, k, sp;
        else             printf "netns %sm%d 172.16.%d.1\n", p, k, k;
    }
}' > "$WORK/flows.txt"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
wall() { # wall seconds of a command, its output to $WORK/out, stderr to $WORK/err
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
    t1=$EPOCHREALTIME
    (( rc <= 1 )) || { cat "$WORK/err" >&2; echo "trace-bench: $* exited $rc" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

: > "$WORK/big"; : > "$WORK/small"; : > "$WORK/batch"; : > "$WORK/batchwall"
for ((r = 1; r <= RUNS; r++)); do
    w=$(wall "$NSAUDIT" trace --timing --snapshot "$SNAP" --netns "$BIG" 32.0.3.7 from 10.1.0.1 ipproto tcp sport 40000 dport 443)
    echo "$w" >> "$WORK/big"
    log "single-big run $r: $w s ($(grep -o 'snapshot load [0-9.]* ms' "$WORK/err"), $(grep -o 'traced in [0-9.]* ms' "$WORK/err"); $(head -c 120 "$WORK/out" | tr '\n' ' ')...)"
    w=$(wall "$NSAUDIT" trace --timing --snapshot "$SNAP" --netns "${P}c0" 10.99.0.40 ipproto tcp sport 40000 dport 22)
    echo "$w" >> "$WORK/small"
    log "single-small run $r: $w s"
    w=$(wall "$NSAUDIT" trace --timing --snapshot "$SNAP" --batch "$WORK/flows.txt" --json)
    after=$(sed -n 's/.*after the load \([0-9.]*\) ms.*/\1/p' "$WORK/err")
    echo "$after" >> "$WORK/batch"; echo "$w" >> "$WORK/batchwall"
    log "batch run $r: $(wc -l < "$WORK/out") traces; wall $w s; $(grep -o 'flows traced.*' "$WORK/err")"
done
# what the batch found, for the record
ok=$(grep -c '"ok":true' "$WORK/out" || true)

big=$(median < "$WORK/big"); small=$(median < "$WORK/small"); batch=$(median < "$WORK/batch"); bw=$(median < "$WORK/batchwall")
echo
echo "nsaudit trace, $(nproc) cores, $(uname -r); snapshot of $K namespaces + one with $N4 routes ($(du -m "$SNAP" | cut -f1) MB); median of $RUNS"
printf '| %-44s | %10s | %8s | %6s |\n' measure figure target ratio
printf '| %-44s | %10s | %8s | %6s |\n' "-" "-" "-" "-" | tr ' ' '-' | sed 's/|-/| /g'
row() { printf '| %-44s | %10s | %8s | %6s |\n' "$1" "$2" "$3" "$(awk -v a="$4" -v b="$5" 'BEGIN { printf "%.2f", a / b }')"; }
row "one trace through the 1M-route namespace" "$big s" "2 s" "$big" 2
row "one trace client -> server and back" "$small s" "2 s" "$small" 2
row "--batch $F flows, after the load" "$batch ms" "1000 ms" "$batch" 1000
echo "(batch wall time including the load: $bw s; flows accepted and symmetric: $ok of $F)"
