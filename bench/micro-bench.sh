#!/usr/bin/env bash
# micro-bench.sh — the byte-level text code (snapshot writer and reader, address parsing and
# formatting, route-get --batch text and JSON on one core) through NSAuditCore's public API,
# release build, for one or more source trees side by side (e.g. before and after a change).
#
# Usage: bench/micro-bench.sh [TREE...]     (default: this checkout)
#   For each TREE a package is made in /tmp whose NSAuditCore target is TREE/Sources/NSAuditCore
#   and whose executable is bench/micro/main.swift; it is built in release and run.
#   Env: V4, V6 (routes, default 500000 + 50000), Q (route-get lines, 200000), RUNS (best of, 5),
#        ROUNDS (how many times the trees take turns, default 2).
# Needs no root and touches no namespace.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TREES=("$@"); [[ ${#TREES[@]} -gt 0 ]] || TREES=("$ROOT")
ROUNDS=${ROUNDS:-2}
BIN=()
for t in "${TREES[@]}"; do
    t=$(cd "$t" && pwd)
    pkg="/tmp/nsaudit-micro-$(echo "$t" | md5sum | cut -c1-8)"
    mkdir -p "$pkg/Sources/micro"
    ln -sfn "$t/Sources/NSAuditCore" "$pkg/Sources/NSAuditCore"
    ln -sfn "$t/Sources/CBuildInfo" "$pkg/Sources/CBuildInfo"
    ln -sfn "$t/Sources/CYAML" "$pkg/Sources/CYAML"
    cp "$HERE/micro/main.swift" "$pkg/Sources/micro/main.swift"
    [[ -f "$t/Package.resolved" ]] && cp "$t/Package.resolved" "$pkg/Package.resolved"
    cat > "$pkg/Package.swift" <<'PKG'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "micro",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "CBuildInfo"),
        .systemLibrary(name: "CYAML"),
        .target(name: "NSAuditCore", dependencies: ["CBuildInfo", "CYAML"],
                linkerSettings: [.linkedLibrary(":libyaml.a")]),
        .executableTarget(name: "micro", dependencies: ["NSAuditCore"]),
    ],
    swiftLanguageModes: [.v6]
)
PKG
    echo "[$(date +%T)] building $t ($pkg)" >&2
    (cd "$pkg" && swift build -c release >&2)
    BIN+=("$pkg/.build/release/micro")
done
for ((r = 1; r <= ROUNDS; r++)); do
    for i in "${!TREES[@]}"; do
        echo "== ${TREES[$i]} (round $r, load $(cut -d' ' -f1 /proc/loadavg))"
        "${BIN[$i]}"
    done
done
