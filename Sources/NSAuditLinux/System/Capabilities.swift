import Glibc

/// The capabilities live collection needs, checked before any work so that a run without
/// them ends with what is missing and how to get it, instead of an empty snapshot.
///
/// Entering a network namespace (setns(2) with CLONE_NEWNET) needs CAP_SYS_ADMIN, and
/// opening another process's /proc/PID/ns/net (the root namespace is init's) needs ptrace
/// read access to it, which root has (`man 7 capabilities`, `man 2 setns`).
public enum Capabilities {
    /// CAP_SYS_ADMIN's bit (linux/capability.h).
    public static let sysAdmin = 21

    /// The effective capability set (CapEff in /proc/self/status); nil if unreadable.
    public static func effective() -> UInt64? {
        guard let text = readSmallFile("/proc/self/status", limit: 4096) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst(7).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 16)
        }
        return nil
    }

    /// Why live collection cannot run, or nil when it can: one line naming the missing
    /// capability and the ways out.
    public static func collectionProblem(effective caps: UInt64? = effective()) -> String? {
        guard let caps else { return nil }   // unknown: let the collector say what failed
        if caps & (1 << UInt64(sysAdmin)) != 0 { return nil }
        return "reading the live host needs CAP_SYS_ADMIN to enter network namespaces (setns), "
            + "which this process lacks (uid \(geteuid())): run nsaudit as root (sudo), or with "
            + "CAP_SYS_ADMIN and CAP_NET_ADMIN, or read a recorded snapshot with --snapshot FILE"
    }
}
