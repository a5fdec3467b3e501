// swift-tools-version:5.4
// libFuzzer targets for every parser of outside input (issue #12). A package of its own, on
// top of the main one by path, so `swift build` / `swift test` of nsaudit never compile
// them. Built (with -sanitize=fuzzer,address; see FLAGS there) and run by Fuzz/run.sh
// (`make fuzz`, CI). libFuzzer supplies main(); each target defines LLVMFuzzerTestOneInput.
// Tools version 5.4: from 5.5 on SwiftPM renames an executable's main to <module>_main and
// links an alias to it, which a target without a main of its own cannot satisfy.
import PackageDescription

let targets = ["snapshot", "pcap", "routeget", "apply", "flows", "netlink"]

let package = Package(
    name: "nsaudit-fuzz",
    platforms: [.macOS(.v11)],
    products: targets.map { .executable(name: "fuzz-\($0)", targets: ["fuzz-\($0)"]) },
    dependencies: [.package(name: "nsaudit", path: "..")],
    targets: [
        // What the targets share: the fixtures they run against.
        .target(name: "FuzzSupport", dependencies: [.product(name: "NSAuditCore", package: "nsaudit")]),
    ] + targets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: [
            "FuzzSupport",
            .product(name: "NSAuditCore", package: "nsaudit"),
            .product(name: "NSAuditLinux", package: "nsaudit"),
        ])
    },
    swiftLanguageVersions: [.v5]
)
