import CNetlink
import Glibc
import NSAuditCore
import SystemPackage

/// Which netfilter tables a namespace has (`NetfilterState`), read on a thread that has
/// entered it: nftables over nfnetlink, the legacy x_tables from /proc/thread-self/net.
///
/// Kernel facts this relies on: a legacy family's `*_tables_names` file exists in every
/// namespace once its module (ip_tables, ip6_tables, arp_tables) is loaded or built in, and
/// lists the tables instantiated in that namespace (they are created on first use there);
/// without the file, the family has no tables. nf_tables answers an NFT_MSG_GETTABLE dump
/// per namespace; a kernel without nfnetlink or nf_tables cannot hold nftables tables.
enum NetfilterProbe {
    /// Whether an nfnetlink dump may be sent. Opening a NETLINK_NETFILTER socket or asking
    /// the nf_tables subsystem makes the kernel load modules that are missing; a snapshot
    /// must not change the host, so when nf_tables is a module that is not loaded (modules
    /// supported, no /sys/module/nf_tables, not listed in modules.builtin), no namespace can
    /// have tables and none is asked. Decided once per snapshot.
    enum NftablesAvailability: Sendable, Equatable {
        case ask
        case notLoaded(String)
    }

    static func nftablesAvailability(release: String = kernelRelease()) -> NftablesAvailability {
        // No /proc/modules: a kernel without loadable modules; nf_tables is built in or absent.
        guard access("/proc/modules", F_OK) == 0 else { return .ask }
        if access("/sys/module/nf_tables", F_OK) == 0 { return .ask }
        let builtinList = "/lib/modules/\(release)/modules.builtin"
        guard let builtin = try? String(contentsOfFile: builtinList, encoding: .utf8) else { return .ask }
        if builtin.split(separator: "\n").contains(where: { $0.hasSuffix("/nf_tables.ko") }) { return .ask }
        return .notLoaded("the nf_tables module is not loaded (no /sys/module/nf_tables, not built in)")
    }

    static let nfnetlinkSource = "nfnetlink"

    /// Reads the current thread's namespace.
    static func read(nftables: NftablesAvailability) -> NetfilterState {
        NetfilterState(nftables: readNftables(nftables),
                       iptablesLegacy: readLegacy("ip_tables_names"),
                       ip6tablesLegacy: readLegacy("ip6_tables_names"),
                       arptablesLegacy: readLegacy("arp_tables_names"))
    }

    static func readNftables(_ availability: NftablesAvailability) -> NetfilterTables {
        if case .notLoaded = availability { return NetfilterTables(source: nfnetlinkSource, tables: []) }
        let sock: NetlinkSocket
        do {
            sock = try NetlinkSocket(protocol: NETLINK_NETFILTER)
        } catch let e as SystemCallError where e.errno == .protocolNotSupported {
            return NetfilterTables(source: nfnetlinkSource, tables: [])   // no nfnetlink in this kernel
        } catch {
            return NetfilterTables(source: nfnetlinkSource, unknown: "\(error)")
        }
        do {
            return NetfilterTables(source: nfnetlinkSource, tables: try sock.dumpNftablesTables())
        } catch let e as SystemCallError where e.errno == .notSupported || e.errno == .protocolNotSupported {
            return NetfilterTables(source: nfnetlinkSource, tables: [])   // no nf_tables subsystem
        } catch {
            return NetfilterTables(source: nfnetlinkSource, unknown: "\(error)")
        }
    }

    /// One legacy family's table list, e.g. /proc/net/ip_tables_names (a name a line).
    static func readLegacy(_ file: String) -> NetfilterTables {
        let source = "/proc/net/\(file)"
        let path = "/proc/thread-self/net/\(file)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = Errno.lastCall
            if e == .noSuchFileOrDirectory { return NetfilterTables(source: source, tables: []) }  // family not in the kernel
            return NetfilterTables(source: source, unknown: SystemCallError("open", errno: e, subject: path).description)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let r = chunk.withUnsafeMutableBytes { p in retryingInterrupts { Glibc.read(fd, p.baseAddress, p.count) } }
            switch r {
            case .success(0):
                let names = bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
                return NetfilterTables(source: source, tables: names)
            case .success(let n): bytes += chunk[0..<n]
            case .failure(let e):
                return NetfilterTables(source: source, unknown: SystemCallError("read", errno: e, subject: path).description)
            }
        }
    }
}
