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
