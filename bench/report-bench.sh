#!/usr/bin/env bash
# report-bench.sh — issue 4's performance target for `nsaudit report`:
#
#   "A host with 100 namespaces, 20 addresses each, and one namespace holding 1,000,000
#    routes: the full report (collection included) in under 5 s on this 2-core machine."
#
# It builds that host out of network namespaces and times
#     nsaudit report --netns NS ... --format json -o FILE
# (collection, analysis with remediation, kernel self-check, rendering) three ways:
#     all      the 100 small namespaces and the big one (101 --netns)
#     big      the big namespace alone
#     small    the 100 small namespaces alone
# Each line gives the wall time of the whole process, peak RSS, and the phases the binary
# reports with NSAUDIT_TIMING=1 (collect, audit, kernel-check, output).
#
# The small namespaces are 25 copies of the management scenario (/work/shared/scenario.md):
# a server with a data NIC (ens18), a management NIC (ens19) and a storage NIC (ens20), a
# data router, a management router and a client, joined by veth pairs; 20 addresses each
# (IPv4 and IPv6), default routes, forwarding on the routers, a couple of policy rules each,
# rp_filter on some. Even groups are fixed by source routing (rule from the management
# subnet), odd ones are broken (replies to management clients leave by the data NIC), so
# the report has real findings and proposes (and verifies) fixes.
# The big namespace is a border router: three uplinks, a LAN and a management interface
# (20 addresses), a management table selected by a source rule, and N IPv4 routes of mixed
# prefix lengths (/14 ... /32, mostly /24 and /22, via the uplinks, some device routes,
# blackholes and multipath routes), plus a default route unless --no-default.
#
# Usage: bench/report-bench.sh [--routes N] [--namespaces K] [--runs R] [--quick]
#                              [--no-default] [--timeout S] [--keep-output DIR]
#   --routes N       routes in the big namespace (default 1,000,000)
#   --namespaces K   small namespaces, a multiple of 4 (default 100)
#   --runs R         repeat each measurement R times, report the median (default 3)
#   --quick          100,000 routes, 20 namespaces, 1 run
#   --no-default     no default route in the big namespace (a default-free full table)
#   --timeout S      give up on one report run after S seconds (default 900)
#   --keep-output DIR  keep the report JSON files in DIR
#   --keep-snapshot FILE  also write an `nsaudit snapshot` of all the namespaces to FILE
#                    (to profile `nsaudit report --snapshot FILE` offline)
#   NSAUDIT=path     use this binary instead of building release (scratch .build-rbench)
#
# Needs root (ip netns add). Every namespace it creates is named nsarb-<pid>-...; all are
# deleted on exit, also on failure or Ctrl-C. Namespaces it did not create are never
# touched. No packets are sent: the namespaces only hold links, addresses, rules and routes.
set -euo pipefail

N4=1000000
K=100
RUNS=3
KEEP=""
SNAPOUT=""
DEFAULT=1
TIMEOUT=900
while [[ $# -gt 0 ]]; do
    case "$1" in
        --routes) N4="$2"; shift 2 ;;
        --namespaces) K="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; K=20; RUNS=1; shift ;;
        --no-default) DEFAULT=0; shift ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --keep-output) KEEP="$2"; shift 2 ;;
        --keep-snapshot) SNAPOUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "report-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
(( K % 4 == 0 && K >= 4 && K <= 200 )) || { echo "report-bench: --namespaces must be a multiple of 4 in 4..200" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "report-bench: needs root (ip netns add)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsarb
BIG="${PREFIX}big"
bench_binary .build-rbench report-bench

nsexec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------- small namespaces
# Group g: S (server), D (data router), M (management router), C (client).
#   C eth0 192.168.g.10  <-> D eth0 192.168.g.1        D eth1 10.20.g.1  <-> S ens18 10.20.g.40
#   C eth1 192.168.(100+g).10 <-> M eth0 .1            M eth1 10.99.g.1  <-> S ens19 10.99.g.40
#   C eth2 172.16.g.1   <-> S ens20 172.16.g.40 (storage)
# Each namespace: 20 addresses (v4 secondaries in the same subnets, a few v6).
SMALL=()
G=$((K / 4))
log "creating $K small namespaces ($G groups of server, data router, management router, client)"
# addrs DEV V4NET(3 octets) FIRST COUNT V6NET FIRST6 COUNT6
addrs() {
    local dev=$1 net=$2 first=$3 n=$4 net6=$5 first6=$6 n6=$7 i
    for ((i = 0; i < n; i++)); do echo "address add $net.$((first + i))/24 dev $dev"; done
    for ((i = 0; i < n6; i++)); do printf 'address add %s::%x/64 dev %s nodad\n' "$net6" $((first6 + i)) "$dev"; done
}
# router_batch NS SERVER_DEV LAN LAN6 INNER INNER6 MARK: a router whose eth0 faces the
# client on LAN (3 octets; LAN6 its /64) and whose eth1 is the veth to the server's
# SERVER_DEV on INNER (INNER6); a policy table 200 for 10.250.0.0/16 behind the server.
router_batch() {
    local ns=$1 sdev=$2 lan=$3 lan6=$4 inner=$5 inner6=$6 mark=$7
    {
        echo "link set lo up"
        echo "link add eth1 type veth peer name $sdev netns $S"
        echo "link set eth0 up"; echo "link set eth1 up"
        addrs eth0 "$lan" 1 8 "$lan6" 1 2
        addrs eth1 "$inner" 1 8 "$inner6" 1 2
        echo "route add default via $lan.10 dev eth0"
        echo "route add 10.250.0.0/16 via $inner.40 dev eth1 table 200"
        echo "rule add iif eth0 to 10.250.0.0/16 lookup 200 priority 2000"
        echo "rule add fwmark $mark lookup 200 priority 2001"
        echo "route add ::/0 via $lan6::10 dev eth0"
    } > "$WORK/router.batch"
    ip -n "$ns" -batch "$WORK/router.batch"
}
for ((g = 0; g < G; g++)); do
    S="${PREFIX}s$g"; D="${PREFIX}d$g"; M="${PREFIX}m$g"; C="${PREFIX}c$g"
    for ns in "$S" "$D" "$M" "$C"; do mkns "$ns"; SMALL+=("$ns"); done
    m=$((100 + g))
    # Client: links to both routers and the server's storage NIC are made here.
    {
        echo "link set lo up"
        echo "link add eth0 type veth peer name eth0 netns $D"
        echo "link add eth1 type veth peer name eth0 netns $M"
        echo "link add eth2 type veth peer name ens20 netns $S"
        echo "link set eth0 up"; echo "link set eth1 up"; echo "link set eth2 up"
        addrs eth0 192.168.$g 10 7 "fd00:168:$g" 16 2
        addrs eth1 192.168.$m 10 5 "fd00:168:$m" 16 1
        addrs eth2 172.16.$g 1 4 "fd00:16:$g" 1 1
        echo "route add default via 192.168.$g.1 dev eth0"
        echo "route add 10.99.0.0/16 via 192.168.$m.1 dev eth1"
        echo "route add default via 192.168.$m.1 dev eth1 table 100"
        echo "rule add from 192.168.$m.0/24 lookup 100 priority 1000"
        echo "rule add to 10.99.0.0/16 lookup 100 priority 1001"
        echo "route add ::/0 via fd00:168:$g::1 dev eth0"
    } > "$WORK/c.batch"
    ip -n "$C" -batch "$WORK/c.batch"
    # Data router (toward the server's ens18) and management router (toward ens19).
    router_batch "$D" ens18 192.168.$g "fd00:168:$g" 10.20.$g "fd00:20:$g" 0x1
    router_batch "$M" ens19 192.168.$m "fd00:168:$m" 10.99.$g "fd00:99:$g" 0x2
    # Server: data, management and storage NICs.
    {
        echo "link set lo up"
        echo "link set ens18 up"; echo "link set ens19 up"; echo "link set ens20 up"
        addrs ens18 10.20.$g 40 8 "fd00:20:$g" 64 2
        addrs ens19 10.99.$g 40 5 "fd00:99:$g" 64 1
        addrs ens20 172.16.$g 40 3 "fd00:16:$g" 64 1
        echo "route add default via 10.20.$g.1 dev ens18"
        echo "route add ::/0 via fd00:20:$g::1 dev ens18"
        echo "route add 10.200.0.0/16 via 10.99.$g.1 dev ens19"
        if (( g % 2 == 0 )); then
            # fixed by source routing (scenario variant 5)
            echo "route add 10.99.$g.0/24 dev ens19 table 100"
            echo "route add default via 10.99.$g.1 dev ens19 table 100"
            echo "rule add from 10.99.$g.0/24 lookup 100 priority 1000"
            echo "route add ::/0 via fd00:99:$g::1 dev ens19 table 100"
            echo "rule add from fd00:99:$g::/64 lookup 100 priority 1000" > "$WORK/s6.batch"
        else
            # broken (variant 1): only a rule for the storage network's backups
            echo "route add default via 172.16.$g.1 dev ens20 table 300"
            echo "rule add from 172.16.$g.0/24 to 10.250.0.0/16 lookup 300 priority 1000"
        fi
        echo "rule add fwmark 0x10 lookup main priority 1500"
    } > "$WORK/s.batch"
    ip -n "$S" -batch "$WORK/s.batch"
    if (( g % 2 == 0 )); then ip -6 -n "$S" -batch "$WORK/s6.batch"; fi
    nsexec "$D" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    nsexec "$M" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    # rp_filter: strict on the management routers of every third group, loose on the
    # servers' management NIC of every fifth (variant 2 style).
    if (( g % 3 == 0 )); then nsexec "$M" sysctl -qw net.ipv4.conf.all.rp_filter=1; fi
    if (( g % 5 == 0 )); then nsexec "$S" sysctl -qw net.ipv4.conf.ens19.rp_filter=2; fi
done

# ---------------------------------------------------------------- big namespace
# A border router: uplinks up0..up2 (10.255.d.1/24, peers 10.255.d.2..), a LAN (lan0),
# a management interface (mgmt0) whose replies use table 100 through a source rule.
# The veth peers stay in the namespace, unaddressed (they only give the links carrier).
log "creating $BIG with $N4 IPv4 routes"
mkns "$BIG"
{
    echo "link set lo up"
    for d in up0 up1 up2 lan0 mgmt0; do
        echo "link add $d type veth peer name ${d}p"
        echo "link set $d up"; echo "link set ${d}p up"
    done
    for d in 0 1 2; do
        echo "address add 10.255.$d.1/24 dev up$d"
        echo "address add 10.255.$d.11/24 dev up$d"
        echo "address add 10.255.$d.12/24 dev up$d"
        printf 'address add 2001:db8:ff:%x::1/64 dev up%d nodad\n' $d $d
    done
    for i in 1 2 3 4 5; do echo "address add 10.1.0.$i/24 dev lan0"; done
    echo "address add fd00:1::1/64 dev lan0 nodad"
    for i in 40 41; do echo "address add 10.99.250.$i/24 dev mgmt0"; done
    # 3*4 + 6 + 2 = 20 addresses
    [[ $DEFAULT == 1 ]] && echo "route add default via 10.255.0.2 dev up0 proto static"
    echo "route add 10.0.0.0/8 via 10.1.0.254 dev lan0"
    echo "route add 10.99.250.0/24 dev mgmt0 table 100"
    echo "route add default via 10.99.250.1 dev mgmt0 table 100"
    echo "rule add from 10.99.250.0/24 lookup 100 priority 100"
    echo "rule add iif lan0 fwmark 0x1 lookup 100 priority 200"
} > "$WORK/big-links.batch"
ip -n "$BIG" -batch "$WORK/big-links.batch"
nsexec "$BIG" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0

# Route i covers 32.0.0.0 + i*256 onwards (32.0.0.0 .. 47.255.255.255 for 1M routes); its
# length is /14, /16, /18, /20 or /22 when i is a multiple of 1024, 256, 64, 16 or 4 (the
# block is then aligned), else mostly /24, with /25../32 now and then: every (address,
# length) is unique and shorter prefixes cover longer ones, as in a real table.
awk -v n="$N4" 'BEGIN {
    for (i = 0; i < n; i++) {
        a = 536870912 + i * 256;
        if (i % 1024 == 0) len = 14; else if (i % 256 == 0) len = 16; else if (i % 64 == 0) len = 18;
        else if (i % 16 == 0) len = 20; else if (i % 4 == 0) len = 22;
        else if (i % 29 == 0) len = 32; else if (i % 13 == 0) len = 25 + i % 6; else len = 24;
        o1 = int(a / 16777216); o2 = int(a / 65536) % 256; o3 = int(a / 256) % 256;
        o4 = (len == 32) ? 1 : 0;
        d = i % 3; gw = 2 + i % 7;
        if (i % 211 == 0)       printf "route add blackhole %d.%d.%d.%d/%d proto bgp\n", o1, o2, o3, o4, len;
        else if (i % 4999 == 0) printf "route add %d.%d.%d.%d/%d proto bgp nexthop via 10.255.0.%d dev up0 nexthop via 10.255.1.%d dev up1\n", o1, o2, o3, o4, len, gw, gw;
        else if (i % 17 == 0)   printf "route add %d.%d.%d.%d/%d dev lan0 proto static metric %d\n", o1, o2, o3, o4, len, 100 + i % 3;
        else if (i % 1001 == 0) printf "route add %d.%d.%d.%d/%d via 10.99.250.%d dev mgmt0 table 100 proto bgp\n", o1, o2, o3, o4, len, 1 + i % 5;
        else                    printf "route add %d.%d.%d.%d/%d via 10.255.%d.%d dev up%d proto bgp\n", o1, o2, o3, o4, len, d, gw, d;
    }
}' > "$WORK/big-routes.batch"
t0=$EPOCHREALTIME
ip -n "$BIG" -batch "$WORK/big-routes.batch"
t1=$EPOCHREALTIME
rm -f "$WORK/big-routes.batch"
log "loaded $N4 routes in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

# ---------------------------------------------------------------- measurements
# run NAME NS...: RUNS report runs; prints "wall rss collect audit kernel output findings"
# of the median run (by wall time) to stdout.
run() {
    local name=$1; shift
    local args=() ns r
    for ns in "$@"; do args+=(--netns "$ns"); done
    : > "$WORK/$name.runs"
    for ((r = 1; r <= RUNS; r++)); do
        local out="$WORK/$name.json" t0 t1 rc=0
        t0=$EPOCHREALTIME
        NSAUDIT_TIMING=1 /usr/bin/time -f 'rss=%M' -o "$WORK/time.txt" \
            timeout "$TIMEOUT" "$NSAUDIT" report "${args[@]}" --format json --fail-on never \
            --lock "$WORK/lock" -o "$out" 2> "$WORK/err.txt" || rc=$?
        t1=$EPOCHREALTIME
        if (( rc == 124 )); then
            log "$name run $r: gave up after $TIMEOUT s"
            echo "$TIMEOUT 0 - - - - timeout" >> "$WORK/$name.runs"
            break
        elif (( rc != 0 )); then
            cat "$WORK/err.txt" >&2; log "$name run $r: nsaudit exited $rc"; exit 1
        fi
        local wall rss tl
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        rss=$(sed -n 's/^rss=//p' "$WORK/time.txt")
        tl=$(grep '^nsaudit: timing' "$WORK/err.txt" | tail -1)
        get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<< "$tl"; }
        echo "$wall $((rss / 1024)) $(get collect) $(get audit) $(get kernel-check) $(get output) $(get findings)" >> "$WORK/$name.runs"
        log "$name run $r: ${wall} s, $((rss / 1024)) MB (${tl#nsaudit: timing })"
        [[ -n "$KEEP" ]] && { mkdir -p "$KEEP"; cp "$out" "$KEEP/$name.json"; }
    done
    sort -n "$WORK/$name.runs" | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

if [[ -n "$SNAPOUT" ]]; then
    sargs=(); for ns in "${SMALL[@]}" "$BIG"; do sargs+=(--netns "$ns"); done
    "$NSAUDIT" snapshot "${sargs[@]}" -o "$SNAPOUT"
    log "snapshot written to $SNAPOUT"
fi

log "timing nsaudit report ($RUNS run(s) each, median)"
ALL=$(run all "${SMALL[@]}" "$BIG")
BIGR=$(run big "$BIG")
SMALLR=$(run small "${SMALL[@]}")

row() {
    local label=$1 vals=$2
    read -r wall rss col aud ker outp fnd _ <<< "$vals"
    local verdict="-"
    if [[ $label == all* ]]; then
        verdict=$(awk -v w="$wall" 'BEGIN { print (w < 5.0) ? "met (< 5 s)" : "MISSED (>= 5 s)" }')
    fi
    [[ $fnd == timeout ]] && { wall=">$wall"; fnd="-"; verdict="MISSED (timeout)"; }
    printf '| %-30s | %8s | %8s | %8s | %8s | %8s | %6s | %8s | %-16s |\n' \
        "$label" "$wall" "$col" "$aud" "$ker" "$outp" "$rss" "$fnd" "$verdict"
}
echo
echo "nsaudit report, $(nproc) cores, $(uname -r); big namespace: $N4 IPv4 routes$([[ $DEFAULT == 0 ]] && echo ', no default route'); $K small namespaces, 20 addresses each; median of $RUNS"
printf '| %-30s | %8s | %8s | %8s | %8s | %8s | %6s | %8s | %-16s |\n' \
    "namespaces" "wall s" "collect" "audit" "kcheck" "output" "RSS MB" "findings" "target 5 s"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "--------------------------------" "----------" "----------" "----------" "----------" "----------" "--------" "----------" "------------------"
row "all ($((K + 1)))" "$ALL"
row "big ($N4 routes)" "$BIGR"
row "small ($K)" "$SMALLR"
