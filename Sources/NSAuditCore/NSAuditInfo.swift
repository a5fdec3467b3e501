import CBuildInfo

/// Version of nsaudit and the commit it was built from, written into snapshots and reports.
public enum NSAuditInfo {
    public static let version = "0.1.0"

    /// The git commit of the build (abbreviated, "-dirty" when the tree had uncommitted
    /// changes); nil when the build was not given one (NSAUDIT_GIT_COMMIT, see Package.swift).
    public static let commit: String? = {
        let c = String(cString: nsaudit_build_commit())
        return c.isEmpty ? nil : c
    }()

    /// What `nsaudit --version` prints: "0.1.0 (commit 1a2b3c4d5e6f)".
    public static let versionLine = "\(version) (commit \(commit ?? "unknown"))"

    /// The `generator` of snapshots and reports: "nsaudit 0.1.0 (commit 1a2b3c4d5e6f)".
    public static let generator = "nsaudit \(versionLine)"
}
