#!/usr/bin/env bash
# edit-flows-bench.sh — `report --apply` of 20,000 rules and `report --flows` of 200,000 flows.
#
#   Reads the management lab's snapshot (fixtures/snapshots/mgmt-broken.json) and runs
#   `nsaudit report` on it (release build, NSAUDIT_TIMING=1, --no-remediation):
#     anchor   the same report with neither option
#     apply    --apply FILE of N rule adds: rising priorities, no priorities (each rule goes
#              before the others, as `ip rule add` without pref does) and shuffled priorities
#     flows    --flows FILE of M declared flows that hold (clients on the ingress's subnet
#              to the sshd and httpd listening on the server: accepted, replies symmetric,
#              so the report stays small and the figure is the reading and checking of the
#              flows), then the same number of flows to ports nothing listens on (each a
#              finding, 60,000 distinct traces: the report is large; no target, for scale)
#   and prints for each the phase that reads the file (`apply=` / `flows=` of the timing
#   line, wall time), the whole run's wall and CPU time (user + system: on this shared VM
#   the wall time of a one-thread phase grows with other load, its CPU time much less),
#   its peak RSS, and the ratio of the phase to its target.
#
# Usage: bench/edit-flows-bench.sh [--rules N] [--flows M] [--runs R]
#   --rules N   rule adds per --apply file (default 20000; target 1 s)
#   --flows M   flows in the --flows file (default 200000; target 2 s and 300 MB peak)
#   --runs R    runs of each, the median printed (default 3)
#   NSAUDIT=path  use this binary instead of building release (.build-bench scratch path)
#
# Needs no root and no namespace: everything is read from the snapshot file.
set -euo pipefail

RULES=20000; FLOWS=200000; RUNS=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rules) RULES="$2"; shift 2 ;;
        --flows) FLOWS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "edit-flows-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ -x /usr/bin/time ]] || { echo "edit-flows-bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 2; }

. "$(dirname "$0")/lib.sh"
bench_init nsaefb
bench_binary .build-bench edit-flows-bench
SNAP="$ROOT/fixtures/snapshots/mgmt-broken.json"
NS=nsarec-server

log "writing inputs: $RULES rules (three orders), $FLOWS flows"
python3 - "$WORK" "$RULES" "$FLOWS" "$NS" <<'PY'
import random, sys
work, n, m, ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def src(i): return f"10.{100 + (i >> 16) % 100}.{(i >> 8) & 255}.{i & 255}"
with open(f"{work}/rising.ip", "w") as f:
    for i in range(n): f.write(f"ip -n {ns} rule add from {src(i)} lookup {100 + i % 50} pref {1000 + i}\n")
with open(f"{work}/nopref.ip", "w") as f:
    for i in range(n): f.write(f"ip -n {ns} rule add from {src(i)} lookup {100 + i % 50}\n")
prefs = list(range(1000, 1000 + n)); random.Random(12).shuffle(prefs)
with open(f"{work}/shuffled.ip", "w") as f:
    for i, p in enumerate(prefs): f.write(f"ip -n {ns} rule add from {src(i)} lookup {100 + i % 50} pref {p}\n")
# clients on the ingress's own subnet: replies go back the way they came
with open(f"{work}/flows.yaml", "w") as f:
    f.write("flows:\n")
    for i in range(m):
        f.write(f"  - name: flow {i}\n    netns: {ns}\n    clients: [10.99.0.{1 + i % 200}/32]\n"
                f"    to: 10.99.0.40\n    protocol: tcp\n    port: {(22, 80)[i % 2]}\n    ingress: ens19\n")
with open(f"{work}/flows-violated.yaml", "w") as f:
    f.write("flows:\n")
    for i in range(m):
        f.write(f"  - name: flow {i}\n    netns: {ns}\n    clients: [10.99.0.{1 + i % 200}/32]\n"
                f"    to: 10.99.0.40\n    protocol: tcp\n    port: {1000 + i % 60000}\n    ingress: ens19\n")
PY

# run LABEL PHASE TARGET_S ARGS...: median of RUNS runs of the phase, wall time and peak RSS
run() {
    local label=$1 phase=$2 target=$3; shift 3
    local i phases=() walls=() rss=() cpus=()
    for ((i = 0; i < RUNS; i++)); do
        NSAUDIT_TIMING=1 /usr/bin/time -f "%e %M %U %S" -o "$WORK/time" "$NSAUDIT" report --snapshot "$SNAP" \
            --no-remediation --fail-on never --format json -o /dev/null "$@" 2> "$WORK/err" \
            || { echo "edit-flows-bench: $label failed:" >&2; cat "$WORK/err" >&2; exit 1; }
        local line; line=$(grep 'timing ' "$WORK/err")
        if [[ $phase != - ]]; then phases+=("$(sed -n "s/.* $phase=\([0-9.]*\).*/\1/p" <<<"$line")"); fi
        read -r w m u s < "$WORK/time"; walls+=("$w"); rss+=("$m"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')")
    done
    median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
    local ph="-" ratio="-"
    if [[ $phase != - ]]; then
        ph=$(median "${phases[@]}")
        ratio=$(awk -v p="$ph" -v t="$target" 'BEGIN { printf "%.2f", p / t }')
    fi
    printf '%-31s %-8s %9s s %9s s %9s s %9.0f MB %8s\n' "$label" "$phase" "$ph" "$(median "${walls[@]}")" \
        "$(median "${cpus[@]}")" "$(awk -v k="$(median "${rss[@]}")" 'BEGIN { print k / 1024 }')" "$ratio"
}

printf '%-31s %-8s %11s %11s %11s %12s %8s\n' "run" "phase" "phase" "whole run" "run CPU" "peak RSS" "÷target"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run "anchor (no --apply/--flows)" - 1
run "--apply $RULES rising" apply 1 --apply "$WORK/rising.ip"
run "--apply $RULES no pref" apply 1 --apply "$WORK/nopref.ip"
run "--apply $RULES shuffled" apply 1 --apply "$WORK/shuffled.ip"
run "--flows $FLOWS (they hold)" flows 2 --flows "$WORK/flows.yaml"
run "--flows $FLOWS (all violated)" flows 2 --flows "$WORK/flows-violated.yaml"
echo "targets: apply phase <= 1 s (20,000 rules); flows phase <= 2 s and peak RSS <= 300 MB (200,000 flows that hold; the violated run is for scale)"
