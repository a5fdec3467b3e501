#!/usr/bin/env bash
# Capture throughput benchmark: a UDP flood at RATE packets/s between two namespaces created
# here (and deleted on exit), for SECONDS, while `nsaudit capture` runs in the receiving
# namespace with its default filter (which keeps every UDP packet) and snap length.
# Reports the rate achieved, libpcap's kernel drops (pcap_stats) and the CPU the capture used
# (getrusage of the capture thread and of the whole process).
#
# Usage: bench/capture-bench.sh [RATE] [SECONDS]      (default 200000 pps, 5 s)
# Environment: NSAUDIT (default .build/release/nsaudit), PAYLOAD (UDP payload bytes, default 18),
#              PROCS (generator processes, default 1),
#              EXTRA (more nsaudit capture options, e.g. "--immediate")
# Needs root, iproute2, python3. Traffic stays between the two namespaces.
# The generator is a paced Python UDP flood using sendmmsg(2) (python3 from the distribution,
# ctypes): iperf3 3.12 (the distribution's) topped out near 160,000 datagrams/s on a 2-core
# machine, below the target, and a plain send() loop near 150,000.
set -euo pipefail

RATE=${1:-200000}
SECONDS_=${2:-5}
PAYLOAD=${PAYLOAD:-18}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "${here}")
NSAUDIT=${NSAUDIT:-${repo}/.build/release/nsaudit}
P="nsacapb-$$-"
TX="${P}tx" RX="${P}rx"

msg() { echo "capture-bench: $*" >&2; }
[ "$(id -u)" = 0 ] || { msg "must run as root"; exit 1; }
[ -x "${NSAUDIT}" ] || { msg "no nsaudit binary at ${NSAUDIT} (swift build -c release, or set NSAUDIT)"; exit 1; }

created=() pids=()
tmp=$(mktemp -d)
cleanup() {
    local rc=$? pid n
    for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null || true; done
    for n in "${created[@]}"; do ip netns delete "${n}" 2>/dev/null || true; done
    rm -rf "${tmp}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for n in "${TX}" "${RX}"; do
    ip netns add "${n}"; created+=("${n}")
    ip -n "${n}" link set lo up
done
ip -n "${TX}" link add eth0 type veth peer name eth0 netns "${RX}"
ip -n "${TX}" addr add 10.201.0.1/24 dev eth0
ip -n "${RX}" addr add 10.201.0.2/24 dev eth0
ip -n "${TX}" link set eth0 up
ip -n "${RX}" link set eth0 up

# The flood goes to 10.201.0.99, an address the receiver does not own, through a static
# neighbour entry: the receiving namespace drops each datagram at its IP layer (forwarding
# off) after the capture tap has seen it, which costs less than a socket delivery and
# leaves more of this machine's CPU to the generator.
rxmac=$(ip -n "${RX}" -j link show eth0 | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])')
ip -n "${TX}" neigh add 10.201.0.99 lladdr "${rxmac}" dev eth0 nud permanent

cat >"${tmp}/flood.py" <<'PY'
# UDP flood paced to RATE datagrams/s for SECONDS: sendmmsg(2) through ctypes, batches of up
# to 64 datagrams, re-timed after each batch. Prints "sent elapsed errors".
import ctypes, ctypes.util, socket, sys, time
dst, port, rate, secs, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(iovec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
BATCH = 64
buf = ctypes.create_string_buffer(size)
iov = iovec(ctypes.cast(buf, ctypes.c_void_p), size)
msgs = (mmsghdr * BATCH)()
for m in msgs:
    m.hdr.iov = ctypes.pointer(iov); m.hdr.iovlen = 1
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
s.connect((dst, port))
fd = s.fileno()
sendmmsg = libc.sendmmsg
t0 = time.monotonic(); end = t0 + secs; sent = 0; errors = 0
while True:
    now = time.monotonic()
    if now >= end: break
    n = min(int((now - t0) * rate) - sent, BATCH)
    if n <= 0:
        time.sleep(0.0002); continue
    r = sendmmsg(fd, msgs, n, 0)
    if r < 0: errors += 1; r = 0
    sent += r
el = time.monotonic() - t0
print(f"{sent} {el:.3f} {errors}")
PY

# Capture for the flood plus a margin; the capture starts first.
"${NSAUDIT}" capture "$((SECONDS_ + 3))s" --netns "${RX}" --json ${EXTRA:-} >"${tmp}/capture.json" 2>"${tmp}/capture.err" &
cap=$!
pids+=("${cap}")
for _ in $(seq 1 50); do
    grep -q "capturing for" "${tmp}/capture.err" 2>/dev/null && break
    sleep 0.1
done

PROCS=${PROCS:-1}
msg "flooding ${RATE} pps (${PAYLOAD}-byte UDP payloads, ${PROCS} sender processes) for ${SECONDS_} s"
gen=()
for i in $(seq 1 "${PROCS}"); do
    ip netns exec "${TX}" python3 "${tmp}/flood.py" 10.201.0.99 $((9000 + i)) "$(python3 -c "print(${RATE}/${PROCS})")" \
        "${SECONDS_}" "${PAYLOAD}" >"${tmp}/gen${i}.out" &
    gen+=("$!")
done
for pid in "${gen[@]}"; do wait "${pid}"; done
cat "${tmp}"/gen*.out >"${tmp}/gen.out"
wait "${cap}" || { msg "nsaudit capture failed: $(cat "${tmp}/capture.err")"; exit 1; }

python3 - "${tmp}/gen.out" "${tmp}/capture.json" "${RATE}" "${SECONDS_}" <<'PY'
import json, sys
gen = [l.split() for l in open(sys.argv[1]) if l.strip()]
cap = json.load(open(sys.argv[2]))
rate, secs = int(sys.argv[3]), float(sys.argv[4])
sent = sum(int(g[0]) for g in gen); errs = sum(int(g[2]) for g in gen)
st = cap["stats"][0]
recv, drop = st.get("kernel_received", 0), st.get("kernel_dropped", 0)
cpu, dur = st.get("cpu_seconds", 0.0), st.get("duration_seconds", 1.0)
pcpu, wall = cap["process_cpu_seconds"], cap["wall_seconds"]
floods = [f for f in cap["observed_flows"] if f["server"] == "10.201.0.99"]
flood_pkts = sum(f["request_packets"] for f in floods)
print(f"target rate            {rate} pps for {secs:.0f} s")
print(f"generators sent        {sent} datagrams = {sent/secs:,.0f} pps ({errs} send errors)")
print(f"capture handed over    {st['packets']} packets; kernel ps_recv {recv}, ps_drop {drop}, ps_ifdrop {st.get('interface_dropped', 0)}")
print(f"kernel drops           {100.0*drop/recv if recv else 0:.3f} %")
print(f"flood packets captured {flood_pkts} = {flood_pkts/secs:,.0f} pps over {len(floods)} flow(s)")
print(f"capture thread CPU     {cpu:.2f} s over {dur:.2f} s = {100*cpu/dur:.1f} % of one core (during the flood: {100*cpu/secs:.1f} %)")
print(f"nsaudit process CPU    {pcpu:.2f} s over {wall:.2f} s = {100*pcpu/wall:.1f} % of one core")
PY
