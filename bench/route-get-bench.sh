#!/bin/bash
# route-get benchmark (issue 3), release build, root needed.
#
# One namespace with 1,000,000 IPv4 and 100,000 IPv6 routes of mixed prefix lengths and 50
# policy rules. Measures, side by side with the kernel anchor:
#   1. building the lookup structures from the snapshot (target < 1 s);
#   2. in-process output lookups for random addresses on one core (target >= 5,000,000/s),
#      with `nsaudit-bench route-get` (the benchmark executable, not the shipped command);
#   3. `nsaudit route-get --batch` of 100,000 queries against `ip -batch` of the same
#      100,000 `route get` lines in the same namespace (target: >= 5x faster).
# Usage: bench/route-get-bench.sh [--quick]   (--quick: 100,000 + 10,000 routes)
# Env: BIN (default .build-fib/release/nsaudit) and BENCH (default .build-fib/release/nsaudit-bench),
#      built if missing; V4 / V6 route counts.
set -euo pipefail
cd "$(dirname "$0")/.."
V4=${V4:-1000000}; V6=${V6:-100000}; Q=${Q:-100000}
[ "${1:-}" = "--quick" ] && { V4=100000; V6=10000; }
BIN=${BIN:-.build-fib/release/nsaudit}
BENCH=${BENCH:-.build-fib/release/nsaudit-bench}
if [ ! -x "$BIN" ]; then swift build -c release --scratch-path .build-fib --product nsaudit >&2; fi
if [ ! -x "$BENCH" ]; then swift build -c release --scratch-path .build-fib --product nsaudit-bench >&2; fi
[ "$(id -u)" = 0 ] || { echo "route-get-bench: needs root (creates a network namespace)" >&2; exit 2; }

NS=nsafib-bench-$$; PEER=nsafib-bench-$$-peer
TMP=$(mktemp -d /tmp/nsafib-bench.XXXXXX)
cleanup() { ip netns del "$NS" 2>/dev/null || true; ip netns del "$PEER" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2-$1:.3f}')"; }

ip netns add "$NS"; ip netns add "$PEER"
ip -n "$NS" link set lo up
ip link add eth0 netns "$NS" type veth peer name eth0 netns "$PEER"
ip link add eth1 netns "$NS" type veth peer name eth1 netns "$PEER"
for d in eth0 eth1; do ip -n "$PEER" link set $d up; ip -n "$NS" link set $d up; done
ip -n "$NS" addr add 10.0.0.1/24 dev eth0; ip -n "$NS" addr add 10.1.0.1/24 dev eth1
ip -n "$NS" addr add 2001:db8::1/64 dev eth0 nodad; ip -n "$NS" addr add 2001:db8:1::1/64 dev eth1 nodad

python3 - "$TMP" "$V4" "$V6" "$Q" <<'PY'
import random, sys, ipaddress
tmp, v4, v6, q = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(42)
lens4 = [8]*1 + [12]*2 + [16]*8 + [20]*10 + [22]*10 + [23]*8 + [24]*50 + [28]*6 + [32]*5
chunk, n, f = 100000, 0, None
def out(line):
    global n, f
    if n % chunk == 0:
        if f: f.close()
        f = open(f"{tmp}/routes.{n // chunk:03d}.{'v6' if line.startswith('-6 ') else 'v4'}", "w")
    f.write(line[3:] + "\n" if line.startswith("-6 ") else line + "\n"); n += 1
seen = set()
out("route replace default via 10.0.0.254 dev eth0")
while len(seen) < v4:
    L = random.choice(lens4)
    a = random.randint(0x01000000, 0xDFFFFFFF) & (0xFFFFFFFF << (32 - L)) & 0xFFFFFFFF
    if (a, L) in seen: continue
    seen.add((a, L))
    p = f"{ipaddress.IPv4Address(a)}/{L}"
    r = random.random()
    if r < 0.02: out(f"route replace blackhole {p}")
    elif r < 0.10: out(f"route replace {p} dev eth1")
    elif r < 0.15: out(f"route replace {p} nexthop via 10.0.0.2 dev eth0 nexthop via 10.1.0.2 dev eth1")
    else: out(f"route replace {p} via 10.0.0.{random.randint(2, 250)} dev eth0")
lens6 = [32, 40, 48, 48, 56, 64, 64, 64, 64, 128]
seen = set()
while len(seen) < v6:
    L = random.choice(lens6)
    a = (0x20010db8 << 96 | random.getrandbits(96)) & ((1 << 128) - (1 << (128 - L)))
    if (a, L) in seen: continue
    seen.add((a, L))
    out(f"-6 route replace {ipaddress.IPv6Address(a)}/{L} via 2001:db8::{random.randint(2, 250):x} dev eth0")
out("-6 route replace default via 2001:db8::fe dev eth0")
f.close()
with open(f"{tmp}/rules", "w") as r:
    for i in range(50):
        sel = [f"from 192.0.2.{i}/32", f"fwmark {i + 1}", f"to 198.18.{i}.0/24", "iif eth1", f"ipproto tcp dport {1000 + i}"][i % 5]
        r.write(f"rule add pref {100 + i} {sel} lookup {100 + i % 3}\n")
with open(f"{tmp}/queries.ip", "w") as a, open(f"{tmp}/queries.ns", "w") as b:
    for _ in range(q):
        if random.random() < 0.9: d = str(ipaddress.IPv4Address(random.randint(0x01000000, 0xDFFFFFFF)))
        else: d = str(ipaddress.IPv6Address(0x20010db8 << 96 | random.getrandbits(96)))
        a.write(f"route get {d}\n"); b.write(d + "\n")
PY

echo "route-get benchmark: $V4 IPv4 + $V6 IPv6 routes, 50 rules, $Q batch queries (kernel $(uname -r), $(nproc) cores)"
t=$(now)
for f in "$TMP"/routes.*.v4; do ip -n "$NS" -force -batch "$f" 2>/dev/null || true; done
for f in "$TMP"/routes.*.v6; do ip -6 -n "$NS" -force -batch "$f" 2>/dev/null || true; done
ip -n "$NS" -batch "$TMP/rules"
echo "  loaded routes with ip -batch in $(elapsed "$t" "$(now)") s"
t=$(now)
"$BIN" snapshot --netns "$NS" --no-root --no-sockets -o "$TMP/snap.json"
echo "  nsaudit snapshot: $(elapsed "$t" "$(now)") s, $(du -m "$TMP/snap.json" | cut -f1) MB"

echo
echo "== 1+2. lookup structures and in-process output lookups (one core)"
"$BENCH" route-get --snapshot "$TMP/snap.json" --netns "$NS" --lookups 5000000 2>&1 | tee "$TMP/lookups.txt" | sed 's/^/  /'

echo
echo "== 3. batch of $Q route get queries, side by side"
t=$(now); ip -n "$NS" -force -batch "$TMP/queries.ip" >/dev/null 2>&1 || true; tip=$(elapsed "$t" "$(now)")
t=$(now); "$BIN" route-get --snapshot "$TMP/snap.json" --netns "$NS" --batch "$TMP/queries.ns" --timing >"$TMP/ns.out" 2>"$TMP/ns.err" || true; tns=$(elapsed "$t" "$(now)")
t=$(now); "$BIN" route-get --snapshot "$TMP/snap.json" --netns "$NS" --batch "$TMP/queries.ns" --json --timing >"$TMP/ns.json" 2>"$TMP/nsj.err" || true; tnsj=$(elapsed "$t" "$(now)")
ans=$(grep -o 'answered.*' "$TMP/ns.err" | head -1); ansj=$(grep -o 'answered.*' "$TMP/nsj.err" | head -1)
phase=$(echo "$ans" | sed -E 's/.* in ([0-9.]+) ms.*/\1/'); phasej=$(echo "$ansj" | sed -E 's/.* in ([0-9.]+) ms.*/\1/')
load=$(grep -o 'snapshot load [0-9.]* ms; lookup structures built in [0-9.]* ms' "$TMP/ns.err" | head -1)
python3 - "$tip" "$phase" "$phasej" "$tns" "$tnsj" "$Q" <<'PY'
import sys
tip, phase, phasej, tns, tnsj, q = float(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3]) / 1000, float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"  {'what':58} {'seconds':>8} {'queries/s':>11} {'vs ip -batch':>12}")
print(f"  {'ip -batch route get (kernel, anchor)':58} {tip:8.3f} {q/tip:11.0f} {'1.00x':>12}")
print(f"  {'nsaudit route-get --batch, text: answering phase':58} {phase:8.3f} {q/phase:11.0f} {tip/phase:11.2f}x")
print(f"  {'nsaudit route-get --batch --json: answering phase':58} {phasej:8.3f} {q/phasej:11.0f} {tip/phasej:11.2f}x")
print(f"  {'nsaudit route-get --batch, text: whole process':58} {tns:8.3f} {q/tns:11.0f} {tip/tns:11.2f}x")
print(f"  {'nsaudit route-get --batch --json: whole process':58} {tnsj:8.3f} {q/tnsj:11.0f} {tip/tnsj:11.2f}x")
PY
echo "  (whole process includes reading the $(du -m "$TMP/snap.json" | cut -f1) MB snapshot: $load)"

echo
echo "== targets of issue 3"
python3 - "$TMP/lookups.txt" "$tip" "$phase" "$phasej" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
tip, phase, phasej = float(sys.argv[2]), float(sys.argv[3]) / 1000, float(sys.argv[4]) / 1000
build = float(re.search(r"lookup structures built in ([0-9.]+) ms", t).group(1)) / 1000
one = float(re.search(r"one at a time: .*?= ([0-9]+) lookups/s", t).group(1))
bulk = float(re.search(r"bulk of 16: .*?= ([0-9]+) lookups/s", t).group(1))
ok = lambda c: "met" if c else "MISSED"
print(f"  build lookup structures        < 1 s          {build:8.3f} s             {ok(build < 1)}")
print(f"  output lookups/s, one core     >= 5,000,000   {one:12,.0f} one at a time  {ok(one >= 5e6)}")
print(f"                                                {bulk:12,.0f} bulk of 16     {ok(bulk >= 5e6)}")
print(f"  --batch answering vs ip -batch >= 5x          text {tip/phase:5.2f}x, JSON {tip/phasej:5.2f}x  {ok(tip/phase >= 5)} / {ok(tip/phasej >= 5)}")
PY
