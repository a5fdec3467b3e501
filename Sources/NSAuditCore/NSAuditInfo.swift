/// Version of nsaudit, written into snapshots and reports.
public enum NSAuditInfo {
    public static let version = "0.1.0"
}
