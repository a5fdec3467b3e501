#!/usr/bin/env bash
# snapshot-bench.sh — issue 2's performance targets, measured side by side in one run.
#
#   1. One big namespace (default 1,000,000 IPv4 + 100,000 IPv6 routes):
#        ip -n BIG -j route show table all > FILE
#      vs
#        nsaudit snapshot --no-root --netns BIG -o FILE
#      wall time, peak RSS, ratio.  Target: nsaudit <= ip (ratio <= 1.0), peak RSS <= 400 MB.
#   2. K small namespaces (default 300), each with a veth pair, addresses, routes and a rule:
#        for ns; do ip -n $ns -j link; ip -n $ns -j addr; ip -n $ns -j rule;
#                   ip -n $ns -j route show table all; done > /dev/null
#      vs
#        nsaudit snapshot --no-root --netns NS1 --netns NS2 ... -o FILE
#      Target: nsaudit at least 20x faster.
#
# Usage: bench/snapshot-bench.sh [--routes N4] [--routes6 N6] [--namespaces K] [--runs R]
#                                [--quick] [--keep-output DIR]
#   --quick         100,000 + 10,000 routes, 50 namespaces, 1 run (smoke test)
#   --runs R        repeat each measurement R times (default 3), report the median
#   --keep-output DIR  keep the JSON files written by both tools in DIR
#   --nice N        run every measured command (ip, the loop, nsaudit alike) at nice N, e.g.
#                   -10 on a host busy with other work, so the figures approach an idle host's
#   NSAUDIT=path    use this binary instead of building release (.build-bench scratch path)
#
# Needs root (ip netns add). Every namespace it creates is named nsabench-<pid>-...; they are
# all deleted on exit, also on failure or Ctrl-C. Namespaces it did not create are never
# touched. No packets are sent: the namespaces only hold links, addresses, rules and routes.
set -euo pipefail

N4=1000000
N6=100000
K=300
RUNS=3
KEEP=""
NICE=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --routes) N4="$2"; shift 2 ;;
        --routes6) N6="$2"; shift 2 ;;
        --namespaces) K="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; N6=10000; K=50; RUNS=1; shift ;;
        --keep-output) KEEP="$2"; shift 2 ;;
        --nice) NICE="$2"; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "snapshot-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "snapshot-bench: needs root (ip netns add)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "snapshot-bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsabench
BIG="${PREFIX}big"
bench_binary .build-bench snapshot-bench


# ---------------------------------------------------------------- big namespace
big_namespace "$BIG" "$N4" "$N6"

# ---------------------------------------------------------------- small namespaces
SMALL=()
log "creating $K small namespaces"
for ((k = 0; k < K; k++)); do
    ns=$(printf '%ss%04d' "$PREFIX" "$k")
    mkns "$ns"
    SMALL+=("$ns")
    c=$((k % 250)); b=$((k / 250))
    cat > "$WORK/small.batch" <<EOF
link set lo up
link add v0 type veth peer name v1
link set v0 up
link set v1 up
address add 10.$b.$c.1/24 dev v0
address add fd00:$b:$c::1/64 dev v0 nodad
address add 192.0.2.$((c % 254 + 1))/32 dev lo
route add default via 10.$b.$c.2
route add 172.16.0.0/12 via 10.$b.$c.3
route add 198.51.100.0/24 dev v0 metric 50
route add default via 10.$b.$c.4 table 100
route add 2001:db8:$c::/48 via fd00:$b:$c::2
rule add from 10.$b.$c.0/24 lookup 100 priority 1000
EOF
    ip -n "$ns" -batch "$WORK/small.batch"
done

# ---------------------------------------------------------------- measurements
# run_timed OUT CMD... : runs CMD with stdout to OUT, sets T_MS (wall, ms), CPU_MS (user+sys
# of CMD and its children, ms) and RSS_KB (peak of the largest process).
run_timed() {
    local out="$1"; shift
    local t0 t1
    # Both tools write a fresh file: freeing the previous run's output (O_TRUNC for the
    # shell, rename over it for nsaudit) is not part of either measurement.
    [[ "$out" == /dev/null ]] || rm -f "$out"
    sync
    t0=$(now_ns)
    nice -n "$NICE" /usr/bin/time -f '%U %S %M' -o "$WORK/time.txt" "$@" > "$out"
    t1=$(now_ns)
    T_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
    read -r u s RSS_KB < <(tail -n 1 "$WORK/time.txt")
    CPU_MS=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.0f", (u + s) * 1000 }')
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The shell loop of the issue, in its own bash so /usr/bin/time sums the CPU of every `ip`.
LOOP='for ns in "$@"; do ip -n "$ns" -j link; ip -n "$ns" -j addr; ip -n "$ns" -j rule; ip -n "$ns" -j route show table all; done'
NSARGS=()
for ns in "${SMALL[@]}"; do NSARGS+=(--netns "$ns"); done

sync
for f in ip_t ip_c ip_m nsa_t nsa_c nsa_m loop_t loop_c nsas_t nsas_c nsas_m; do : > "$WORK/$f"; done
for ((r = 1; r <= RUNS; r++)); do
    log "run $r/$RUNS: big namespace"
    run_timed "$WORK/ip.json" ip -n "$BIG" -j route show table all
    echo "$T_MS" >> "$WORK/ip_t"; echo "$CPU_MS" >> "$WORK/ip_c"; echo "$RSS_KB" >> "$WORK/ip_m"
    rm -f "$WORK/nsaudit.json"
    run_timed /dev/null "$NSAUDIT" snapshot --no-root --netns "$BIG" -o "$WORK/nsaudit.json"
    echo "$T_MS" >> "$WORK/nsa_t"; echo "$CPU_MS" >> "$WORK/nsa_c"; echo "$RSS_KB" >> "$WORK/nsa_m"

    log "run $r/$RUNS: $K small namespaces"
    run_timed /dev/null bash -c "$LOOP" _ "${SMALL[@]}"
    echo "$T_MS" >> "$WORK/loop_t"; echo "$CPU_MS" >> "$WORK/loop_c"
    rm -f "$WORK/nsaudit-small.json"
    run_timed /dev/null "$NSAUDIT" snapshot --no-root "${NSARGS[@]}" -o "$WORK/nsaudit-small.json"
    echo "$T_MS" >> "$WORK/nsas_t"; echo "$CPU_MS" >> "$WORK/nsas_c"; echo "$RSS_KB" >> "$WORK/nsas_m"
done

ip_t=$(median < "$WORK/ip_t");     ip_c=$(median < "$WORK/ip_c");     ip_m=$(sort -n "$WORK/ip_m" | tail -n 1)
nsa_t=$(median < "$WORK/nsa_t");   nsa_c=$(median < "$WORK/nsa_c");   nsa_m=$(sort -n "$WORK/nsa_m" | tail -n 1)
loop_t=$(median < "$WORK/loop_t"); loop_c=$(median < "$WORK/loop_c")
nsas_t=$(median < "$WORK/nsas_t"); nsas_c=$(median < "$WORK/nsas_c"); nsas_m=$(sort -n "$WORK/nsas_m" | tail -n 1)
load=$(cut -d' ' -f1-3 /proc/loadavg)

# Sanity: both tools saw the same number of routes (ip prints one "dst" per route; nsaudit
# writes one "dst" per route too).
ip_routes=$(grep -o '"dst":' "$WORK/ip.json" | wc -l)
nsa_routes=$(grep -o '"dst":' "$WORK/nsaudit.json" | wc -l)
ip_bytes=$(stat -c %s "$WORK/ip.json"); nsa_bytes=$(stat -c %s "$WORK/nsaudit.json")
if [[ -n "$KEEP" ]]; then
    mkdir -p "$KEEP"; cp "$WORK/ip.json" "$WORK/nsaudit.json" "$WORK/nsaudit-small.json" "$KEEP/"
fi

mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }
ms() { awk -v m="$1" 'BEGIN { if (m >= 1000) printf "%.2f s", m / 1000; else printf "%.0f ms", m }'; }
big_ratio=$(awk -v a="$nsa_t" -v b="$ip_t" 'BEGIN { printf "%.2f", a / b }')
small_speedup=$(awk -v a="$loop_t" -v b="$nsas_t" 'BEGIN { printf "%.1f", a / b }')
big_ok=$(awk -v r="$big_ratio" -v m="$nsa_m" 'BEGIN { print (r <= 1.0 && m <= 400 * 1024) ? "met" : "MISSED" }')
small_ok=$(awk -v s="$small_speedup" 'BEGIN { print (s >= 20) ? "met" : "MISSED" }')

big_cpu_ratio=$(awk -v a="$nsa_c" -v b="$ip_c" 'BEGIN { printf "%.2f", a / b }')
small_cpu_speedup=$(awk -v a="$loop_c" -v b="$nsas_c" 'BEGIN { printf "%.1f", a / b }')

cat <<EOF

Host: $(nproc) CPUs, kernel $(uname -r), $(ip -V | sed 's/ip utility, //'); load average $load at the end.
Command: bench/snapshot-bench.sh --routes $N4 --routes6 $N6 --namespaces $K --runs $RUNS$( [[ "$NICE" == 0 ]] || echo " --nice $NICE")
Median of $RUNS run(s); peak RSS is the maximum over the runs; CPU = user + sys (with children).

Big namespace: $N4 IPv4 + $N6 IPv6 routes over 3 tables (ip prints $ip_routes routes, nsaudit writes $nsa_routes)

| command | wall time | CPU | peak RSS | output |
|---|---:|---:|---:|---:|
| \`ip -j route show table all > FILE\` | $(ms "$ip_t") | $(ms "$ip_c") | $(mb "$ip_m") | $(mb $((ip_bytes / 1024))) |
| \`nsaudit snapshot --no-root --netns BIG -o FILE\` | $(ms "$nsa_t") | $(ms "$nsa_c") | $(mb "$nsa_m") | $(mb $((nsa_bytes / 1024))) |
| nsaudit / ip (target: wall <= 1.0, peak RSS <= 400 MB) | **$big_ratio** | $big_cpu_ratio | | $big_ok |

$K small namespaces (veth pair, 3 addresses, 5 routes, 1 rule each)

| command | wall time | CPU | peak RSS |
|---|---:|---:|---:|
| shell loop: \`ip -n NS -j\` link, addr, rule, route show table all ($((4 * K)) processes) | $(ms "$loop_t") | $(ms "$loop_c") | |
| \`nsaudit snapshot --no-root --netns NS ...\` (all $K) | $(ms "$nsas_t") | $(ms "$nsas_c") | $(mb "$nsas_m") |
| speed-up (target: wall >= 20x) | **${small_speedup}x** | ${small_cpu_speedup}x | $small_ok |

Raw wall ms: ip ${ip_t} / nsaudit ${nsa_t} / loop ${loop_t} / nsaudit-small ${nsas_t}
EOF
