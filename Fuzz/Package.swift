// swift-tools-version:6.0
// libFuzzer targets for every parser of outside input (issue #12). A package of its own, on
// top of the main one by path, so `swift build` / `swift test` of nsaudit never compile
// them. Built and run by Fuzz/run.sh (`make fuzz`, CI), with
//   swift build --package-path Fuzz --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address \
//     -Xswiftc -parse-as-library -Xswiftc -enable-testing
// (libFuzzer supplies main(); each target defines LLVMFuzzerTestOneInput).
import PackageDescription

let targets = ["snapshot", "pcap", "routeget", "apply", "flows", "netlink"]

let package = Package(
    name: "nsaudit-fuzz",
    platforms: [.macOS(.v15)],
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
    swiftLanguageModes: [.v6]
)
