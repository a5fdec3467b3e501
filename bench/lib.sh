# Shared by the benchmark scripts (sourced, not run): a per-run namespace prefix, a work
# directory, cleanup of exactly what this run created, logging, and the release binary.
#
#   bench_init TAG               PREFIX=TAG-<pid>-, WORK, CREATED; cleanup on exit and signals
#   mkns NAME                    ip netns add NAME, remembered for cleanup
#   bench_binary SCRATCH SCRIPT  NSAUDIT from the environment, or a release build in SCRATCH

bench_init() {
    HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
    ROOT=$(cd "$HERE/.." && pwd)
    PREFIX="$1-$$-"
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    CREATED=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local rc=$? ns
    trap - EXIT INT TERM
    for ns in "${CREATED[@]}"; do
        # only names this run made (the prefix carries our pid)
        [[ "$ns" == "$PREFIX"* ]] && ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit $rc
}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now_ns() { date +%s%N; }
mkns() { ip netns add "$1"; CREATED+=("$1"); }

bench_binary() {
    local scratch=$1 script=$2 attempt built=0
    if [[ -z "${NSAUDIT:-}" ]]; then
        log "building nsaudit (release, scratch $scratch)"
        # Retried: a file edited in the tree while it builds fails the build ("modified during
        # the build"), and an incremental retry usually succeeds.
        for attempt in 1 2 3; do
            if (cd "$ROOT" && swift build -c release --scratch-path "$scratch" >&2); then built=1; break; fi
            log "build attempt $attempt failed"
        done
        [[ $built == 1 ]] || { echo "$script: release build failed" >&2; exit 1; }
        NSAUDIT="$ROOT/$scratch/release/nsaudit"
    fi
    [[ -x "$NSAUDIT" ]] || { echo "$script: $NSAUDIT is not executable" >&2; exit 2; }
}

# big_namespace NS N4 N6: creates NS (remembered for cleanup) with 4 veth pairs (both ends
# in NS, up, so they have carrier), one bridge holding vb3p, addresses on each, and N4 IPv4
# + N6 IPv6 routes spread over tables main, 100 and 200, loaded with `ip -batch`.
# (snapshot-bench.sh and diff-bench.sh measure the same namespace.)
big_namespace() {
    local ns=$1 n4=$2 n6=$3 t0 t1
    log "creating $ns and generating $n4 IPv4 + $n6 IPv6 routes"
    mkns "$ns"
    {
        echo "link set lo up"
        for d in 0 1 2 3; do
            echo "link add vb$d type veth peer name vb${d}p"
        done
        echo "link add br0 type bridge"
        echo "link set vb3p master br0"
        for d in 0 1 2 3; do
            echo "link set vb$d up"; echo "link set vb${d}p up"
            echo "address add 10.255.$d.1/24 dev vb$d"
            echo "address add fd00:ff:$d::1/64 dev vb$d nodad"
        done
        echo "link set br0 up"
        echo "address add 10.254.0.1/24 dev br0"
        echo "address add fd00:fe::1/64 dev br0 nodad"
    } > "$WORK/big-links.batch"
    ip -n "$ns" -batch "$WORK/big-links.batch"

    # IPv4: index i -> block 16.0.0.0 + i*256; prefix length from i: /16 when i%256==0, /20 when
    # i%16==0, otherwise one of /24../32 (the (address, length) pairs stay unique).
    # Mostly "via GW dev vbN", every 7th a device route with a metric, every 97th a blackhole.
    awk -v n="$n4" 'BEGIN {
        split("24 25 26 27 28 30 32", L, " ");
        split("main 100 200", T, " ");
        for (i = 0; i < n; i++) {
            a = 268435456 + i * 256;            # 16.0.0.0 + i*256
            if (i % 256 == 0) len = 16; else if (i % 16 == 0) len = 20; else len = L[i % 7 + 1];
            o1 = int(a / 16777216) % 256; o2 = int(a / 65536) % 256; o3 = int(a / 256) % 256;
            o4 = (len == 32) ? 1 : 0;
            d = i % 5; t = T[i % 3 + 1];
            if (i % 97 == 0)      printf "route add blackhole %d.%d.%d.%d/%d table %s\n", o1, o2, o3, o4, len, t;
            else if (i % 7 == 0)  printf "route add %d.%d.%d.%d/%d dev %s table %s metric %d\n", o1, o2, o3, o4, len, (d == 4 ? "br0" : "vb" d), t, 100 + i % 50;
            else if (d == 4)      printf "route add %d.%d.%d.%d/%d via 10.254.0.%d dev br0 table %s\n", o1, o2, o3, o4, len, 2 + i % 200, t;
            else                  printf "route add %d.%d.%d.%d/%d via 10.255.%d.%d dev vb%d table %s\n", o1, o2, o3, o4, len, d, 2 + i % 200, d, t;
        }
    }' > "$WORK/big-routes.batch"
    # IPv6: index i -> 2001:db8:HI:LO::/64; /56 when i%256==0, /128 host (…::1) when i%7==3.
    awk -v n="$n6" 'BEGIN {
        split("main 100 200", T, " ");
        for (i = 0; i < n; i++) {
            hi = int(i / 65536); lo = i % 65536;
            if (i % 256 == 0) { len = 56; host = "" } else if (i % 7 == 3) { len = 128; host = "1" } else { len = 64; host = "" }
            d = i % 5; t = T[i % 3 + 1];
            if (i % 97 == 0)  printf "route add blackhole 2001:db8:%x:%x::%s/%d table %s\n", hi, lo, host, len, t;
            else if (d == 4)  printf "route add 2001:db8:%x:%x::%s/%d via fd00:fe::%x dev br0 table %s\n", hi, lo, host, len, 2 + i % 200, t;
            else              printf "route add 2001:db8:%x:%x::%s/%d via fd00:ff:%d::%x dev vb%d table %s metric %d\n", hi, lo, host, len, d, 2 + i % 200, d, t, 1024 + i % 3;
        }
    }' >> "$WORK/big-routes.batch"
    log "loading $(wc -l < "$WORK/big-routes.batch") routes into $ns (ip -batch)"
    t0=$(now_ns)
    ip -n "$ns" -batch "$WORK/big-routes.batch"
    t1=$(now_ns)
    rm -f "$WORK/big-routes.batch"
    log "loaded in $(( (t1 - t0) / 1000000 )) ms"
}
