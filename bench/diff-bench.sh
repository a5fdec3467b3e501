#!/usr/bin/env bash
# diff-bench.sh — issue 11's `nsaudit diff` target, measured side by side in one run.
#
#   The big namespace of snapshot-bench.sh (default 1,000,000 IPv4 + 100,000 IPv6 routes) is
#   snapshotted, 1,000 of its routes are changed with `ip -batch` (400 replaced with another
#   gateway, 300 deleted, 300 added; in table main, which the rules reach, so the analysis
#   sees them), and it is snapshotted again. Then
#       nsaudit diff OLD.json NEW.json              (text; both snapshots audited)
#       nsaudit diff --json OLD.json NEW.json
#   against the anchor, `diff` of the two `ip -j route show table all` outputs of the same
#   tables, and (a diff that finds the changed lines) `diff` of `ip route show table all`.
#   Wall time, the median of --runs; ratios nsaudit / anchor. Target: nsaudit diff <= 5 s.
#
# Usage: bench/diff-bench.sh [--routes N4] [--routes6 N6] [--runs R] [--quick]
#   --quick     100,000 + 10,000 routes, 1 run (smoke test)
#   --table T   change routes of table T instead of main (100 or 200: no rule reaches them)
#   --keep-output DIR  keep both snapshots and both `ip` outputs in DIR
#   --also NAME=PATH  also time another nsaudit binary (e.g. an earlier build) on the same
#               snapshots, in the same runs (repeatable)
#   --wait-quiet L  before the timed runs, wait (at most 15 minutes) until the 1-minute load
#               average is below L (other work on the machine skews the figures)
#   NSAUDIT=path  use this binary instead of building release (.build-bench scratch path)
#
# Needs root (ip netns add). The namespace it creates is named nsabench-diff-<pid>-big and is
# deleted on exit, also on failure or Ctrl-C. No packets are sent.
set -euo pipefail

N4=1000000
N6=100000
RUNS=3
KEEP=""
TABLE=main
ALSO=()
QUIET=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --routes) N4="$2"; shift 2 ;;
        --routes6) N6="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; N6=10000; RUNS=1; shift ;;
        --keep-output) KEEP="$2"; shift 2 ;;
        --table) [[ "$2" =~ ^(main|100|200)$ ]] || { echo "diff-bench: --table takes main, 100 or 200 (the generated tables), not $2" >&2; exit 2; }
                 TABLE="$2"; shift 2 ;;
        --also) [[ "$2" == *=* && -x "${2#*=}" ]] || { echo "diff-bench: --also takes NAME=PATH of an executable, not $2" >&2; exit 2; }
                ALSO+=("$2"); shift 2 ;;
        --wait-quiet) [[ "$2" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "diff-bench: --wait-quiet takes a load average (e.g. 2.5), not $2" >&2; exit 2; }
                QUIET="$2"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "diff-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "diff-bench: needs root (ip netns add)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsabench-diff
BIG="${PREFIX}big"
bench_binary .build-bench diff-bench

big_namespace "$BIG" "$N4" "$N6"

log "snapshot before"
ip -n "$BIG" -j route show table all > "$WORK/old.ipj"
ip -n "$BIG" route show table all > "$WORK/old.ip"
"$NSAUDIT" snapshot --no-root --netns "$BIG" -o "$WORK/old.json"

# 1,000 changes, picked from the routes themselves (700 plain "via" routes of the table,
# spread evenly): 400 get another gateway (same identity: `route replace`), 300 are deleted,
# and 300 new prefixes (15.x.y.0/24, outside the generated space) are added.
ip -n "$BIG" route show table "$TABLE" \
    | awk '$2 == "via" && $4 == "dev" && NF == 5 { l[n++] = $0 } END { s = int(n / 700); for (k = 0; k < 700 && s > 0; k++) print l[k * s] }' \
    > "$WORK/picked"
[[ $(wc -l < "$WORK/picked") -eq 700 ]] || { echo "diff-bench: too few routes to change (use more --routes)" >&2; exit 1; }
awk -v t="$TABLE" 'NR <= 400 { gw = ($5 == "br0") ? "10.254.0.250" : "10.255." substr($5, 3) ".250";
                 printf "route replace %s via %s dev %s table %s\n", $1, gw, $5, t; next }
               { printf "route del %s table %s\n", $1, t }
     END { for (k = 0; k < 300; k++) printf "route add 15.%d.%d.0/24 via 10.255.0.9 dev vb0 table %s\n", int(k / 256), k % 256, t }' \
    "$WORK/picked" > "$WORK/changes.batch"
log "changing $(wc -l < "$WORK/changes.batch") routes (ip -batch)"
ip -n "$BIG" -batch "$WORK/changes.batch"

log "snapshot after"
ip -n "$BIG" -j route show table all > "$WORK/new.ipj"
ip -n "$BIG" route show table all > "$WORK/new.ip"
"$NSAUDIT" snapshot --no-root --netns "$BIG" -o "$WORK/new.json"

# timed NAME CMD...: wall time in ms of CMD (stdout discarded), appended to $WORK/NAME.
timed() {
    local name=$1 t0 t1; shift
    sync
    t0=$(now_ns)
    "$@" > /dev/null || [[ $? -le 1 ]]     # diff and nsaudit diff exit 1 on differences
    t1=$(now_ns)
    echo $(( (t1 - t0) / 1000000 )) >> "$WORK/$name"
}
median() { sort -n "$WORK/$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

if [[ -n "$QUIET" ]]; then
    waited=0
    until awk -v l="$QUIET" '{ exit !($1 < l) }' /proc/loadavg; do
        (( waited >= 900 )) && { log "load still $(cut -d' ' -f1 /proc/loadavg) after 15 minutes: timing anyway"; break; }
        (( waited % 60 == 0 )) && log "waiting for the 1-minute load average to fall below $QUIET (now $(cut -d' ' -f1 /proc/loadavg))"
        sleep 5; waited=$((waited + 5))
    done
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
    log "run $r/$RUNS"
    timed anchor_j diff "$WORK/old.ipj" "$WORK/new.ipj"
    timed anchor_t diff "$WORK/old.ip" "$WORK/new.ip"
    timed nsa_text "$NSAUDIT" diff "$WORK/old.json" "$WORK/new.json"
    timed nsa_json "$NSAUDIT" diff --json "$WORK/old.json" "$WORK/new.json"
    for k in "${!ALSO[@]}"; do timed "also_$k" "${ALSO[$k]#*=}" diff "$WORK/old.json" "$WORK/new.json"; done
done

# What was found: the route changes nsaudit lists, and the lines diff finds.
NSAUDIT_TIMING=1 "$NSAUDIT" diff --json "$WORK/old.json" "$WORK/new.json" > "$WORK/diff.json" 2> "$WORK/timing" || true
changes=$(grep -c '"object" : "route"' "$WORK/diff.json" || true)
summary=$(tr -d ' \n' < "$WORK/diff.json" | grep -o '"summary":{[^}]*}' | head -n 1)
lines=$(diff "$WORK/old.ip" "$WORK/new.ip" | grep -c '^[<>]' || true)
routes=$(grep -o '"dst":' "$WORK/old.json" | wc -l)

if [[ -n "$KEEP" ]]; then mkdir -p "$KEEP"; cp "$WORK"/old.* "$WORK"/new.* "$KEEP/"; fi
aj=$(median anchor_j); at=$(median anchor_t); nt=$(median nsa_text); nj=$(median nsa_json)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
verdict=$(awk -v t="$nt" -v j="$nj" 'BEGIN { print (t <= 5000 && j <= 5000) ? "met (<= 5 s)" : "MISSED (> 5 s)" }')
(( N4 + N6 >= 1100000 )) || verdict="not judged: $((N4 + N6)) routes is not the target's size"
echo
echo "diff benchmark: $routes routes per snapshot, 1,000 changed in table $TABLE ($(nproc) cores, kernel $(uname -r), median of $RUNS)"
echo "  load average (1, 5, 15 min): $load_start when the timed runs began, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "  nsaudit found: $changes route changes; $summary"
echo "  diff of ip route show found: $lines changed lines"
echo "  phases of one more run (wall, and CPU time of every thread): $(tail -n 1 "$WORK/timing" | sed 's/^nsaudit: timing //')"
echo
echo "| command | wall | vs diff (ip -j) | vs diff (ip route show) |"
echo "|---|---|---|---|"
echo "| \`diff\` of two \`ip -j route show table all\` | ${aj} ms | 1.00 | |"
echo "| \`diff\` of two \`ip route show table all\` | ${at} ms | | 1.00 |"
echo "| \`nsaudit diff OLD NEW\` | ${nt} ms | $(ratio "$nt" "$aj") | $(ratio "$nt" "$at") |"
echo "| \`nsaudit diff --json OLD NEW\` | ${nj} ms | $(ratio "$nj" "$aj") | $(ratio "$nj" "$at") |"
for k in "${!ALSO[@]}"; do
    ot=$(median "also_$k")
    echo "| \`nsaudit diff OLD NEW\` (${ALSO[$k]%%=*}) | ${ot} ms | $(ratio "$ot" "$aj") | $(ratio "$ot" "$at") |"
done
echo
echo "target: nsaudit diff of two 1.1M-route snapshots differing in 1,000 routes <= 5 s: $verdict"
