import Foundation
import Glibc
@testable import NSAuditLinux
import SystemPackage
import Testing

/// The Linux shell's part of the "Bad input" rule (issue 12): errno names, output files
/// (temporary file name, cleanup, owner and mode kept), directory names that are not
/// UTF-8, the capability check. No root needed.
@Suite struct SystemBadInputTests {
    func tempDir() throws -> String {
        var t = Array("/tmp/nsa-sysbad-XXXXXX".utf8CString)
        let p = t.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: try #require(p))
    }

    @Test func errnoNamesAreSymbolicForEveryErrno() {
        #expect(SystemCallError("open", errno: .readOnlyFileSystem, subject: "/x").description
                == "open /x: Read-only file system (EROFS)")
        #expect(Errno(rawValue: ENOENT).symbolicName == "ENOENT")
        // ones the old table did not have
        #expect(Errno(rawValue: EDQUOT).symbolicName == "EDQUOT")
        #expect(Errno(rawValue: ENAMETOOLONG).symbolicName == "ENAMETOOLONG")
        #expect(Errno(rawValue: ETIMEDOUT).symbolicName == "ETIMEDOUT")
        for e in 1...133 { #expect(!Errno(rawValue: Int32(e)).symbolicName.hasPrefix("E\(e)")) }
        #expect(Errno(rawValue: 4000).symbolicName == "errno 4000")
    }

    @Test func temporaryFileIsVisibleAndRemovedOnFailure() throws {
        let dir = try tempDir()
        defer { _ = try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/report.json"
        do {
            let out = try OutputFile(path: path)
            try out.write("half")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(names.count == 1 && names[0].hasPrefix("report.json.nsaudit-tmp."), "\(names)")
            // not committed: the run failed
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func replacedFileKeepsOwnerAndMode() throws {
        let dir = try tempDir()
        defer { _ = try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nsaudit.prom"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o640)
        let root = geteuid() == 0
        if root { chown(path, 65534, 65534) }
        let out = try OutputFile(path: path)
        try out.write("new\n")
        try out.commit()
        var st = stat()
        #expect(stat(path, &st) == 0)
        #expect(st.st_mode & 0o7777 == 0o640)
        if root { #expect(st.st_uid == 65534 && st.st_gid == 65534) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        // A new file is 0644.
        let fresh = try OutputFile(path: dir + "/new.json")
        try fresh.write("x"); try fresh.commit()
        #expect(stat(dir + "/new.json", &st) == 0 && st.st_mode & 0o7777 == 0o644)
    }

    @Test func directoryNamesThatAreNotUTF8AreEscapedNotLost() throws {
        #expect(DirectoryName(Array("plain".utf8)).text == "plain")
        #expect(DirectoryName(Array("blå".utf8)).text == "blå")
        let bad = DirectoryName([0x6e, 0x73, 0xff, 0x5c, 0xc3])   // "ns", 0xff, "\", a cut-off é
        #expect(!bad.isValidUTF8)
        #expect(bad.text == "ns\\xff\\\\\\xc3")
        let dir = try tempDir()
        defer { _ = try? FileManager.default.removeItem(atPath: dir) }
        let raw = Array(dir.utf8) + [0x2f, 0x6e, 0xff, 0]
        let fd = raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress!, O_CREAT | O_WRONLY, 0o600) } }
        #expect(fd >= 0); close(fd)
        let names = listDirectoryBytes(dir)
        #expect(names.map(\.text) == ["n\\xff"])
        #expect(names.first?.bytes == [0x6e, 0xff])
    }

    @Test func missingCapabilityIsNamedWithTheFix() throws {
        let problem = try #require(Capabilities.collectionProblem(effective: 0))
        #expect(problem.contains("CAP_SYS_ADMIN") && problem.contains("root") && problem.contains("--snapshot FILE"))
        #expect(Capabilities.collectionProblem(effective: 1 << 21) == nil)
        #expect(Capabilities.effective() != nil)
    }
}
