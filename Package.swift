// swift-tools-version:6.0
import PackageDescription

// The git commit nsaudit is built from, for `nsaudit --version` and the `generator` of
// snapshots and reports: NSAUDIT_GIT_COMMIT in the environment of `swift build` (the Makefile
// and packaging/build-deb.sh set it from `git rev-parse`). Unset (a tarball, no git, a plain
// `swift build`), the version says the commit is unknown. Only hex digits and "-dirty" are
// taken, so the value cannot break the C string it becomes.
let buildCommit: String? = Context.environment["NSAUDIT_GIT_COMMIT"].flatMap { value in
    let hex = value.hasSuffix("-dirty") ? String(value.dropLast(6)) : value
    guard (7...40).contains(hex.count), hex.allSatisfy({ $0.isHexDigit }) else { return nil }
    return value
}

let package = Package(
    name: "nsaudit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nsaudit", targets: ["nsaudit"]),
        .executable(name: "nsaudit-bench", targets: ["nsaudit-bench"]),
        // The modules, for the fuzz targets' own package (Fuzz/Package.swift), which depends
        // on this one by path so that `swift build` and `swift test` here never compile them.
        .library(name: "NSAuditCore", targets: ["NSAuditCore"]),
        .library(name: "NSAuditLinux", targets: ["NSAuditLinux"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // Minimal C shim: rtnetlink/sock_diag headers and their function-like macros, setns.
        .target(name: "CNetlink"),
        // The commit the build was made from (one C string, set from NSAUDIT_GIT_COMMIT).
        .target(name: "CBuildInfo", cSettings: buildCommit.map { [.define("NSAUDIT_GIT_COMMIT", to: "\"\($0)\"")] } ?? []),
        // libpcap, from the distribution (apt-get install libpcap-dev).
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // libyaml, from the distribution (apt-get install libyaml-dev): the parser under
        // YAMLReader (--accept and --flows files). Linked statically (its archive, libyaml.a,
        // from libyaml-dev) so that the package needs no libyaml at run time: see NSAuditCore.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // Pure core: snapshot model, FIB lookup, analysis, report rendering. No syscalls.
        .target(name: "NSAuditCore", dependencies: ["CBuildInfo", "CYAML"], linkerSettings: [
            // `-l:libyaml.a`: the linker takes the static archive by its file name, not
            // libyaml.so (what a plain `-lyaml` picks), in every build: tests, fuzz, package.
            .linkedLibrary(":libyaml.a", .when(platforms: [.linux])),
            .linkedLibrary("yaml", .when(platforms: [.macOS])),
        ]),
        // Thin Linux shell: netlink, setns, sysctl, namespace discovery, libpcap, files.
        .target(name: "NSAuditLinux", dependencies: [
            "NSAuditCore", "CNetlink", "CPcap",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // The command line: every subcommand, its options and exit statuses, and the `ip`
        // personality. A library, so that parsing is tested without starting the binary.
        .target(name: "NSAuditCLI", dependencies: [
            "NSAuditCore", "NSAuditLinux",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The shipped command: a thin entry point into NSAuditCLI.
        .executableTarget(name: "nsaudit", dependencies: ["NSAuditCLI"]),
        // Benchmarks that are not part of the shipped command (bench/route-get-bench.sh).
        .executableTarget(name: "nsaudit-bench", dependencies: [
            "NSAuditCore", "NSAuditCLI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // A plain, slow reference model of the kernel's route lookups (public API only), that
        // the tests hold RoutingModel and its accelerators to.
        .target(name: "FIBReference", dependencies: ["NSAuditCore"], path: "Tests/FIBReference"),
        .testTarget(name: "NSAuditCoreTests", dependencies: ["NSAuditCore", "FIBReference"]),
        .testTarget(name: "NSAuditCLITests", dependencies: [
            "NSAuditCLI", "NSAuditCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "NSAuditLinuxTests", dependencies: [
            "NSAuditLinux", "NSAuditCore", "CNetlink",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .testTarget(name: "NSAuditLiveTests", dependencies: ["NSAuditCore", "NSAuditLinux"]),
    ],
    swiftLanguageModes: [.v6]
)
