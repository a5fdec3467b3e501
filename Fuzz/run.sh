#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Package.swift) and runs each for FUZZ_SECONDS (default
# 60) from its seed corpus (Fuzz/corpus/TARGET), failing on any crash, trap, leak, timeout
# (> FUZZ_TIMEOUT seconds for one input, default 10) or out-of-memory (> FUZZ_RSS_MB, default
# 2048). `make fuzz` and CI run it.
#
#   Fuzz/run.sh [TARGET...]        targets: snapshot pcap routeget apply flows netlink
#
# Inputs that once failed (Fuzz/regressions/TARGET, each also a regression test) are run
# first. New inputs the fuzzer finds go to .build-fuzz/corpus/TARGET (kept between runs, not
# checked in); a failing input is written to .build-fuzz/artifacts/TARGET/ and its path
# printed: reproduce with `.build-fuzz/release/fuzz-TARGET FILE`, then make it a regression
# test (see README, "Fuzzing").
#
# FUZZ_SEED (default 1) fixes libFuzzer's random seed, so that a run from a fresh clone (CI:
# no .build-fuzz/corpus yet) mutates the same inputs in the same order on every machine and
# a commit's result is reproducible: a slower machine runs a prefix of what a faster one
# runs. Exploring beyond that is a separate, longer run with another or a random seed:
# `FUZZ_SEED=random FUZZ_SECONDS=600 make fuzz`.
set -uo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
seconds=${FUZZ_SECONDS:-60}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
seed=${FUZZ_SEED:-1}
case "$seed" in
  random) seedopt=() ;;
  *[!0-9]*|'') echo "fuzz: FUZZ_SEED must be a number or \"random\" (it is \"$seed\")" >&2; exit 2 ;;
  *) seedopt=(-seed="$seed") ;;
esac
all=(snapshot pcap routeget apply flows netlink)
targets=("${@:-${all[@]}}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: no target \"$t\" (they are: ${all[*]})" >&2; exit 2; }
done

# Every module, dependencies and C targets included, gets coverage and AddressSanitizer
# (libyaml is the distribution's static archive, not rebuilt: the YAML reader's Swift side is
# instrumented, libyaml's C is not; LeakSanitizer still sees its allocations). (SwiftPM's own `--sanitize=fuzzer --sanitize=address` is not used: it
# passed only one of the two to some modules, in an order that changed between runs.)
# -parse-as-library: libFuzzer supplies main(); -enable-testing: the netlink target reaches
# the internal decoders (@testable import).
FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -enable-testing
       -Xcc -fsanitize=fuzzer-no-link,address)
echo "fuzz: building the fuzz targets (.build-fuzz)" >&2
# Release: Swift's overflow and bounds checks stay on with -O, and the targets run about four
# times faster than a debug build. (gold warns about every exported ASan symbol: filtered.)
build() {
  "$SWIFT" build --package-path Fuzz --scratch-path .build-fuzz -c release "${FLAGS[@]}" 2>&1 |
    grep -v "Cannot export local symbol '__asan" >&2
  return "${PIPESTATUS[0]}"
}
# SwiftPM does not notice a source file added to (or removed from) nsaudit, the package
# this one depends on by path: without its cached build plan it plans again (seconds).
rm -f .build-fuzz/release.yaml .build-fuzz/release/description.json
if ! build; then
  echo "fuzz: the fuzz targets do not build" >&2; exit 1
fi

# Targets run FUZZ_JOBS at a time (default: one per core), each for the full FUZZ_SECONDS.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
run_target() {
  local t=$1 work artifacts log status runs rate rssmb last cov ft corp
  work=.build-fuzz/corpus/$t
  artifacts=.build-fuzz/artifacts/$t/
  log=.build-fuzz/logs/$t.log
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  rm -f ".build-fuzz/logs/$t.summary"
  echo "fuzz: $t for ${seconds}s (seed $seed)" >&2
  # detect_leaks: LeakSanitizer at exit and on each new input's run; the snapshot is read
  # from the repository by each target at start (FuzzSupport).
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  ".build-fuzz/release/fuzz-$t" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss" \
    -print_final_stats=1 -artifact_prefix="$artifacts" "${seedopt[@]}" \
    "$work" "Fuzz/corpus/$t" $([ -d "Fuzz/regressions/$t" ] && echo "Fuzz/regressions/$t") >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rssmb=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  printf '%-9s %10s %8s %7s %7s %10s %6s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rssmb:-?}" \
    "$([ $status -eq 0 ] && echo ok || echo "FAILED ($status)")" >".build-fuzz/logs/$t.summary"
  if [ $status -ne 0 ]; then
    echo "fuzz: $t FAILED (status $status); log: $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written|.*Fatal error|.*libFuzzer: )' "$log" | head -20 >&2
    tail -40 "$log" >&2
  fi
  return $status
}

failed=()
pids=()
names=()
wait_one() {
  local pid=${pids[0]} name=${names[0]}
  wait "$pid" || failed+=("$name")
  pids=("${pids[@]:1}"); names=("${names[@]:1}")
}
for t in "${targets[@]}"; do
  while [ ${#pids[@]} -ge "$jobs" ]; do wait_one; done
  run_target "$t" &
  pids+=($!); names+=("$t")
done
while [ ${#pids[@]} -gt 0 ]; do wait_one; done

printf '%-9s %10s %8s %7s %7s %10s %6s  %s\n' target runs exec/s cov ft corpus rss_mb result
for t in "${targets[@]}"; do cat ".build-fuzz/logs/$t.summary" 2>/dev/null || echo "$t ?"; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
