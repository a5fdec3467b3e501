#!/usr/bin/env bash
# capability-lab.sh — which capabilities does the nightly audit need? (contrib/nsaudit.service
# keeps only those in CapabilityBoundingSet.) Builds a throwaway lab and runs the audit as
# root with a reduced capability set (setpriv --bounding-set: after exec, root holds exactly
# the bounding set), comparing each run with one holding every capability:
#
#   nsaCAP-<pid>-a, -b   two named namespaces (ip netns), joined by a veth pair, with an
#                        asymmetric return path in -a (findings to compare)
#   a process-held one   `unshare --net` then `setpriv --reuid nobody`: a namespace that only
#                        a process of another user holds (found through /proc/PID/ns/net)
#
# For each capability set it runs `nsaudit report --fail-on never -o json:FILE` over the
# whole host (the namespaces of other programs are read, never changed) and prints whether
# the lab's three namespaces were recorded (status ok) and the findings equal those of the
# full-capability run. `report --confirm 1s` (a live capture) is tried with and without
# CAP_NET_RAW, and once more with the unit's file-system sandbox approximated (read-only /,
# hidepid=invisible, read-only /proc/sys). Every namespace and process it creates is removed on exit, also on failure.
#
# Usage: packaging/capability-lab.sh [NSAUDIT]   (default: .build/debug/nsaudit)
set -euo pipefail
[[ $EUID -eq 0 ]] || { echo "capability-lab: needs root" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NSAUDIT=${1:-$ROOT/.build/debug/nsaudit}
[[ -x "$NSAUDIT" ]] || { echo "capability-lab: no $NSAUDIT (swift build)" >&2; exit 2; }
command -v setpriv > /dev/null || { echo "capability-lab: setpriv missing (util-linux)" >&2; exit 2; }

P="nsaCAP-$$-"
A="${P}a"; B="${P}b"
WORK=$(mktemp -d /tmp/capability-lab.XXXXXX)
HOLDER=""
cleanup() {
    local rc=$?
    if [[ -n "$HOLDER" ]]; then kill "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; fi
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$A"; ip netns add "$B"
ip -n "$A" link add v0 type veth peer name v0 netns "$B"
ip -n "$A" link add dummy1 type veth peer name dummy1p
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; ip -n "$ns" link set v0 up; done
ip -n "$A" link set dummy1 up; ip -n "$A" link set dummy1p up
ip -n "$A" addr add 10.77.0.1/24 dev v0
ip -n "$A" addr add 10.78.0.1/24 dev dummy1
ip -n "$B" addr add 10.77.0.2/24 dev v0
# Replies from A's dummy1 address leave by v0 (default route): asymmetric for clients on dummy1.
ip -n "$A" route add default via 10.77.0.2 dev v0
ip -n "$B" route add 10.78.0.0/24 via 10.77.0.1 dev v0

# A namespace only a process of another user holds.
unshare --net -- setpriv --reuid=65534 --regid=65534 --clear-groups sleep 600 &
HOLDER=$!
sleep 0.5
HOLDER_PID=$(pgrep -P "$HOLDER" -x sleep || echo "$HOLDER")
[[ -e /proc/$HOLDER_PID/ns/net ]] || { echo "capability-lab: the holder process did not start" >&2; exit 1; }

# run NAME CAPS...: the audit with exactly these capabilities ("all": unchanged).
run() {
    local name=$1; shift
    local bounding="-all"
    local c
    for c in "$@"; do [[ $c == none ]] || bounding+=",+$c"; done
    local prefix=()
    [[ "$1" == all ]] || prefix=(setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="$bounding" --)
    # SANDBOX=1: also what the unit's file-system options do, approximated in a private mount
    # namespace: / read-only (ProtectSystem=strict) but the work directory, /proc with
    # hidepid=invisible (ProtectProc=invisible), /proc/sys read-only (ProtectKernelTunables).
    [[ "${SANDBOX:-0}" == 1 ]] && prefix=(unshare --mount --propagation private -- sh -c '
        mount --rbind "$0" "$0" && mount -t proc -o hidepid=invisible proc /proc &&
        mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys &&
        mount -o remount,bind,ro / && exec "$@"' "$WORK" "${prefix[@]}")
    local rc=0
    "${prefix[@]}" "$NSAUDIT" report --fail-on never --no-remediation --lock "$WORK/lock" \
        -o "json:$WORK/$name.json" 2> "$WORK/$name.err" || rc=$?
    python3 - "$WORK/$name.json" "$WORK/all.json" "$A" "$B" "$HOLDER_PID" "$name" "$rc" "$WORK/$name.err" <<'PY'
import json, os, sys
path, ref_path, a, b, holder, name, rc, err = sys.argv[1:]
if rc != "0":
    first = open(err).read().strip().splitlines()[:1]
    print(f"{name:<44} exit {rc}: {first[0] if first else ''}")
    sys.exit(0)
r = json.load(open(path))
def lab(report):
    out = {}
    for ns in report["namespaces"]:
        i = ns.get("id", ns.get("name"))
        if i in (a, b) or i.startswith(f"pid:{holder}:"):
            out["holder" if i.startswith("pid:") else i[-1]] = ns.get("status")
    return out
def ids(report):
    return sorted(f["id"] for f in report["findings"] if f["netns"] in (a, b))
seen = lab(r)
ok = all(seen.get(k) == "ok" for k in ("a", "b", "holder"))
same = "-"
if os.path.exists(ref_path) and ref_path != path:
    same = "same findings" if ids(r) == ids(json.load(open(ref_path))) else "FINDINGS DIFFER"
print(f"{name:<44} lab namespaces {'all ok' if ok else seen}; {len(ids(r))} lab findings; {same}")
PY
}

echo "nsaudit report over the whole host, the lab's namespaces: $A, $B, pid:$HOLDER_PID (held by nobody)"
run all all
run "sys_admin+sys_ptrace+dac_read_search" sys_admin sys_ptrace dac_read_search
run "sys_admin+sys_ptrace" sys_admin sys_ptrace
run "sys_admin+dac_read_search" sys_admin dac_read_search
run "sys_admin" sys_admin
run "sys_ptrace+dac_read_search (no sys_admin)" sys_ptrace dac_read_search
run "net_admin+sys_ptrace (no sys_admin)" net_admin sys_ptrace
run "none" none
SANDBOX=1 run "sys_admin+sys_ptrace, file-system sandbox" sys_admin sys_ptrace

# --confirm: a live capture in the lab's namespace A.
confirm() {
    local name=$1; shift
    local bounding="-all" c rc=0
    for c in "$@"; do bounding+=",+$c"; done
    setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="$bounding" -- \
        "$NSAUDIT" report --netns "$A" --confirm 1s --fail-on never --no-remediation --lock "$WORK/lock" \
        -o "json:$WORK/confirm.json" 2> "$WORK/confirm.err" || rc=$?
    echo "report --confirm 1s, $name: exit $rc $(head -1 "$WORK/confirm.err")"
}
confirm "sys_admin+sys_ptrace" sys_admin sys_ptrace
confirm "sys_admin+sys_ptrace+net_raw" sys_admin sys_ptrace net_raw
