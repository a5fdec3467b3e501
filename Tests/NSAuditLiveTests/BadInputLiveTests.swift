import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// The "Bad input" rule on the real system (issue 12): a run without permission ends with
/// status 2 and the fix; the lock is not needed to read a snapshot file; an interrupted write
/// leaves no temporary file; a namespace whose name is not UTF-8 is audited, one deleted
/// meanwhile is "vanished"; `route-get --batch --json` exits as text does.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct BadInputLiveTests {
    static let fixture = Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json").path

    /// A directory nobody can read files from, holding a copy of the fixture.
    func scratch() throws -> String {
        let dir = "/tmp/nsa-badinput-\(getpid())-\(UUID().uuidString.prefix(8))"
        try Live.sh("mkdir -p \(dir) && chmod 755 \(dir) && cp '\(Self.fixture)' \(dir)/s.json && chmod 644 \(dir)/s.json")
        return dir
    }

    /// Runs the binary as nobody (no capabilities).
    func asNobody(_ args: String) throws -> (Int32, String) {
        let out = try Live.sh("setpriv --reuid=65534 --regid=65534 --clear-groups '\(Binary.url.path)' \(args) 2>&1 >/dev/null; echo \"rc=$?\"")
        var lines = out.split(separator: "\n").map(String.init)
        let rc = Int32(lines.removeLast().dropFirst(3)) ?? -1
        return (rc, lines.joined(separator: "\n"))
    }

    @Test func withoutPermissionLiveRunsExit2WithTheFix() throws {
        let dir = try scratch()
        defer { _ = try? Live.sh("rm -rf \(dir)") }
        for args in ["snapshot -o \(dir)/x.json", "report --format text", "route-get 192.0.2.1"] {
            let (rc, err) = try asNobody(args)
            #expect(rc == 2, "\(args): \(err)")
            #expect(err.contains("CAP_SYS_ADMIN") && err.contains("--snapshot FILE"), "\(args): \(err)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/x.json"))
        // A snapshot file needs no permission and no lock: the lab's findings give status 1.
        let (rc, err) = try asNobody("report --snapshot \(dir)/s.json --format text")
        #expect(rc == 1, "\(err)")
        #expect(!err.contains("lock"))
        // An explicit lock that cannot be used is an error naming it, not replaced by another.
        let (lrc, lerr) = try asNobody("report --snapshot \(dir)/s.json --lock /root/nsaudit-test.lock")
        #expect(lrc == 2)
        #expect(lerr.contains("/root/nsaudit-test.lock") && lerr.contains("EACCES") && lerr.contains("--lock FILE"), "\(lerr)")
    }

    @Test func interruptedWriteLeavesTheOldFileAndNoTemporary() throws {
        let dir = try scratch()
        defer { _ = try? Live.sh("rm -rf \(dir)") }
        try Live.sh("echo old > \(dir)/r.json")
        // SIGTERM arrives as the finished file is synced, before it is renamed into place.
        let out = try Live.sh("strace -f -o /dev/null -e trace=fsync -e inject=fsync:signal=SIGTERM '\(Binary.url.path)' report --snapshot \(dir)/s.json -o \(dir)/r.json --fail-on never; echo \"rc=$?\"")
        #expect(out.hasSuffix("rc=143\n"), "\(out)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["r.json", "s.json"])
        #expect(try String(contentsOfFile: "\(dir)/r.json", encoding: .utf8) == "old\n")
    }

    @Test func namespaceNamedWithBytesThatAreNotUTF8IsAudited() throws {
        let prefix = "nsaT\(getpid())-"
        let shellName = "$'\(prefix)bad\\xff'"
        try Live.sh("ip netns add \(shellName) && ip -n \(shellName) link set lo up")
        defer { _ = try? Live.sh("ip netns del \(shellName)") }
        let found = NamespaceDiscovery.discoverAll(includeProcesses: false)
        let c = try #require(found.candidates.first { $0.id == "\(prefix)bad\\xff" }, "\(found.candidates.map(\.id))")
        #expect(c.path == "/run/netns/\(prefix)bad\\xff")
        let snap = try Collector.collect(CollectOptions(netns: [c.id], includeRoot: false, sockets: false), discovered: found.candidates)
        let ns = try #require(snap.namespace(c.id))
        #expect(ns.status == .ok, "\(ns.error ?? "")")
        #expect(ns.links.contains { $0.name == "lo" })
    }

    @Test func namespaceDeletedAfterDiscoveryIsVanished() throws {
        let name = "nsaT\(getpid())-gone"
        try Live.sh("ip netns add \(name)")
        var deleted = false
        defer { if !deleted { _ = try? Live.sh("ip netns del \(name)") } }
        let found = NamespaceDiscovery.discoverAll(includeProcesses: false)
        let c = try #require(found.candidates.first { $0.id == name })
        #expect(!Collector.isGone(c))
        try Live.sh("ip netns del \(name)"); deleted = true
        #expect(Collector.isGone(c))
        // (Recreated under the same name it may get the same nsfs inode: the kernel reuses
        // them, so the inode tells another namespace apart only while the first one lives.)
        let snap = try Collector.collect(CollectOptions(netns: [name], includeRoot: false, sockets: false), discovered: [c])
        #expect(snap.namespace(name)?.status == .vanished)
    }

    @Test func batchExitsAlikeInTextAndJSON() throws {
        let dir = try scratch()
        defer { _ = try? Live.sh("rm -rf \(dir)") }
        try Live.sh("printf '10.99.0.1\\nnot-an-address\\n' > \(dir)/bad.txt; printf '10.99.0.1\\n' > \(dir)/good.txt")
        for json in [false, true] {
            let extra = json ? ["--json"] : []
            let (bad, _, _) = try Binary.run(["route-get", "--snapshot", "\(dir)/s.json", "--netns", "nsarec-server", "--batch", "\(dir)/bad.txt"] + extra)
            #expect(bad == 1, "json \(json)")
            let (good, _, _) = try Binary.run(["route-get", "--snapshot", "\(dir)/s.json", "--netns", "nsarec-server", "--batch", "\(dir)/good.txt"] + extra)
            #expect(good == 0, "json \(json)")
        }
    }

    @Test func dropInSaysWhyTheSnapshotCannotBeRead() throws {
        let out = try Live.sh("NSAUDIT_SNAPSHOT=/nonexistent/s.json '\(Binary.url.path)' ip route get 192.0.2.1 2>&1; echo \"rc=$?\"")
        #expect(out.contains("NSAUDIT_SNAPSHOT=/nonexistent/s.json: cannot read the snapshot file: open /nonexistent/s.json: No such file or directory (ENOENT)"), "\(out)")
        #expect(out.hasSuffix("rc=2\n"))
    }
}
