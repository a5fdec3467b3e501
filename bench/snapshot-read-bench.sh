#!/usr/bin/env bash
# snapshot-read-bench.sh — reading a big snapshot: JSONDecoder (old) vs SnapshotDecoder (new).
#
#   1. Builds one namespace with N4 IPv4 + N6 IPv6 routes (default 1,000,000 + 100,000) with
#      `ip -batch` and records it with `nsaudit snapshot --no-root --netns NS -o FILE`.
#   2. Times `nsaudit-bench snapshot-read [--reader foundation] FILE` (file read + decode +
#      schema check) with the fast reader and with JSONDecoder (the reference reader).
#      Prints both load times, the ratio, wall time and peak RSS of each run.
#
# Usage: bench/snapshot-read-bench.sh [--routes N4] [--routes6 N6] [--runs R] [--quick]
#                                     [--snapshot FILE] [--keep FILE]
#   --runs R         runs of the fast reader (default 3, median); JSONDecoder runs once
#   --quick          100,000 + 10,000 routes
#   --snapshot FILE  read this existing snapshot (with --netns-name NS) instead of making one
#   --keep FILE      keep the generated snapshot here
#   NSAUDIT=path     use this binary instead of building release (.build-bench scratch path)
#   BENCH=path       the nsaudit-bench binary (default: beside NSAUDIT)
#
# Needs root to generate (ip netns add). The namespace it creates is named nsardb-<pid>-big
# and deleted on exit, also on failure or Ctrl-C; no other namespace is touched.
set -euo pipefail

N4=1000000; N6=100000; RUNS=3; SNAP=""; KEEP=""; NSNAME=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --routes) N4="$2"; shift 2 ;;
        --routes6) N6="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --quick) N4=100000; N6=10000; shift ;;
        --snapshot) SNAP="$2"; shift 2 ;;
        --netns-name) NSNAME="$2"; shift 2 ;;
        --keep) KEEP="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "snapshot-read-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "snapshot-read-bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsardb
BIG="${PREFIX}big"
bench_binary .build-bench snapshot-read-bench
BENCH=${BENCH:-$(dirname "$NSAUDIT")/nsaudit-bench}   # built with it (swift build builds every product)
[[ -x "$BENCH" ]] || { echo "snapshot-read-bench: no $BENCH (build the nsaudit-bench product, or set BENCH)" >&2; exit 2; }

if [[ -z "$SNAP" ]]; then
    [[ $EUID -eq 0 ]] || { echo "snapshot-read-bench: needs root (ip netns add)" >&2; exit 2; }
    log "creating $BIG with $N4 IPv4 + $N6 IPv6 routes"
    ip netns add "$BIG"; CREATED+=("$BIG")
    {
        echo "link set lo up"
        for d in 0 1 2 3; do echo "link add vb$d type veth peer name vb${d}p"; done
        for d in 0 1 2 3; do
            echo "link set vb$d up"; echo "link set vb${d}p up"
            echo "address add 10.255.$d.1/24 dev vb$d"
            echo "address add fd00:ff:$d::1/64 dev vb$d nodad"
        done
    } > "$WORK/links.batch"
    ip -n "$BIG" -batch "$WORK/links.batch"
    # IPv4 16.0.0.0 + i*256 with lengths /16../32, gateways on vb0..vb3, tables main/100/200,
    # every 7th a device route with a metric, every 97th a blackhole.
    awk -v n="$N4" 'BEGIN {
        split("24 25 26 27 28 30 32", L, " "); split("main 100 200", T, " ");
        for (i = 0; i < n; i++) {
            a = 268435456 + i * 256;
            if (i % 256 == 0) len = 16; else if (i % 16 == 0) len = 20; else len = L[i % 7 + 1];
            o1 = int(a / 16777216) % 256; o2 = int(a / 65536) % 256; o3 = int(a / 256) % 256;
            o4 = (len == 32) ? 1 : 0; d = i % 4; t = T[i % 3 + 1];
            if (i % 97 == 0)     printf "route add blackhole %d.%d.%d.%d/%d table %s\n", o1, o2, o3, o4, len, t;
            else if (i % 7 == 0) printf "route add %d.%d.%d.%d/%d dev vb%d table %s metric %d\n", o1, o2, o3, o4, len, d, t, 100 + i % 50;
            else                 printf "route add %d.%d.%d.%d/%d via 10.255.%d.%d dev vb%d table %s\n", o1, o2, o3, o4, len, d, 2 + i % 200, d, t;
        }
    }' > "$WORK/routes.batch"
    awk -v n="$N6" 'BEGIN {
        split("main 100 200", T, " ");
        for (i = 0; i < n; i++) {
            hi = int(i / 65536); lo = i % 65536;
            if (i % 256 == 0) { len = 56; host = "" } else if (i % 7 == 3) { len = 128; host = "1" } else { len = 64; host = "" }
            d = i % 4; t = T[i % 3 + 1];
            if (i % 97 == 0) printf "route add blackhole 2001:db8:%x:%x::%s/%d table %s\n", hi, lo, host, len, t;
            else             printf "route add 2001:db8:%x:%x::%s/%d via fd00:ff:%d::%x dev vb%d table %s metric %d\n", hi, lo, host, len, d, 2 + i % 200, d, t, 1024 + i % 3;
        }
    }' >> "$WORK/routes.batch"
    ip -n "$BIG" -batch "$WORK/routes.batch"
    rm -f "$WORK/routes.batch"
    SNAP="${KEEP:-$WORK/big.snapshot.json}"
    log "recording $SNAP"
    "$NSAUDIT" snapshot --no-root --netns "$BIG" -o "$SNAP"
    NSNAME="$BIG"
fi
[[ -n "$NSNAME" ]] || { echo "snapshot-read-bench: --snapshot needs --netns-name NS" >&2; exit 2; }
log "snapshot: $(du -m "$SNAP" | cut -f1) MB"

# read_once READER: prints "LOAD_MS WALL_MS RSS_MB"
read_once() {
    local t0 t1 load
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$WORK/time.txt" "$BENCH" snapshot-read --reader "$1" "$SNAP" > "$WORK/err.txt" 2>&1 || true
    t1=$(date +%s%N)
    load=$(sed -n 's/.*snapshot load \([0-9.]*\) ms.*/\1/p' "$WORK/err.txt" | head -n 1)
    [[ -n "$load" ]] || { cat "$WORK/err.txt" >&2; exit 1; }
    echo "$load $(( (t1 - t0) / 1000000 )) $(( $(tail -n 1 "$WORK/time.txt") / 1024 ))"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

NEW=()
for ((r = 1; r <= RUNS; r++)); do
    read -r l w m < <(read_once fast)
    log "fast reader run $r: load $l ms, wall $w ms, peak RSS $m MB"
    NEW+=("$l"); NEWRSS=$m; NEWWALL=$w
done
read -r OLD OLDWALL OLDRSS < <(read_once foundation)
log "JSONDecoder run: load $OLD ms, wall $OLDWALL ms, peak RSS $OLDRSS MB"
NEWMED=$(printf '%s\n' "${NEW[@]}" | median)
printf '\nsnapshot read (%s, %s MB)\n' "$(basename "$SNAP")" "$(du -m "$SNAP" | cut -f1)"
printf '  JSONDecoder (old):     load %10.1f ms   peak RSS %5d MB\n' "$OLD" "$OLDRSS"
printf '  SnapshotDecoder (new): load %10.1f ms   peak RSS %5d MB   (median of %d)\n' "$NEWMED" "$NEWRSS" "$RUNS"
awk -v o="$OLD" -v n="$NEWMED" 'BEGIN { printf "  ratio old/new: %.1fx\n", o / n }'
