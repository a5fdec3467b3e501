import Foundation
import NSAuditCore
import NSAuditLinux
import Testing

/// `SnapshotEditor` (what `report --apply` and the fix verification use) against the kernel:
/// the same commands are applied by the editor to a snapshot of a live lab and by the real
/// `ip`/`sysctl` to the lab itself; a fresh snapshot of the lab must hold what the editor
/// predicted — rules, routes, addresses, link states and sysctls — and audit alike.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct SnapshotEditorLiveTests {
    /// Commands for the management lab's server (`%S` is its namespace): the source-routing
    /// fix, a second address, a VRF-free device route, a policy rule of each action kind, a
    /// deleted route and rule, a sysctl on a device, links taken down with and without
    /// keep_addr_on_down.
    static let script = [
        "ip -n %S rule add from 10.99.0.40 lookup 100 pref 100",
        "ip -n %S route add 10.99.0.0/24 dev ens19 table 100",
        "ip -n %S route add default via 10.99.0.1 dev ens19 table 100",
        "ip -n %S -6 rule add from fd00:99::40 lookup 100 pref 100",
        "ip -n %S -6 route add default via fd00:99::1 dev ens19 table 100",
        "ip -n %S addr add 10.99.0.41/24 dev ens19",
        "ip -n %S addr add 10.77.0.1/16 dev ens18",
        "ip -n %S route add 198.51.100.0/24 via 10.20.30.9 dev ens18 metric 50",
        "ip -n %S route add blackhole 203.0.113.0/24",
        "ip -n %S rule add to 203.0.113.0/24 unreachable pref 200",
        "ip -n %S rule add fwmark 0x10 lookup 100 pref 300",
        "ip -n %S rule del pref 300",
        "ip -n %S route del 198.51.100.0/24",
        "ip -n %S addr del 10.77.0.1/16 dev ens18",
        "ip netns exec %S sysctl -w net.ipv4.conf.ens19.rp_filter=2",
        "ip -n %S link set ens18 down",
        // keep_addr_on_down keeps ens19's permanent global addresses when it goes down
        "ip netns exec %S sysctl -w net.ipv6.conf.ens19.keep_addr_on_down=1",
        "ip -n %S link set ens19 down",
    ]

    @Test func editorPredictsWhatTheKernelDoes() throws {
        let lab = try LabScript("mgmt-broken")
        let server = lab.prefix + "server"
        let before = try Collector.collect(CollectOptions(netns: [server], includeRoot: false, sockets: false))
        let lines = Self.script.map { $0.replacingOccurrences(of: "%S", with: server) }
        var editor = SnapshotEditor(before, defaultNamespace: server)
        try editor.apply(script: lines.joined(separator: "\n"))
        for l in lines { try Live.sh(l + " >/dev/null") }
        let after = try Collector.collect(CollectOptions(netns: [server], includeRoot: false, sockets: false))
        let predicted = try #require(editor.snapshot.namespace(server)), live = try #require(after.namespace(server))

        #expect(Self.rules(predicted) == Self.rules(live), "rules: only predicted \(Self.rules(predicted).subtracting(Self.rules(live))); only live \(Self.rules(live).subtracting(Self.rules(predicted)))")
        let pr = Self.routes(predicted), lr = Self.routes(live)
        #expect(pr == lr, "routes: only predicted \(pr.subtracting(lr).sorted()); only live \(lr.subtracting(pr).sorted())")
        #expect(Self.addresses(predicted) == Self.addresses(live))
        #expect(predicted.links.map { "\($0.name) \($0.adminUp)" } == live.links.map { "\($0.name) \($0.adminUp)" })
        #expect(predicted.settings.effectiveIPv4("ens19") == live.settings.effectiveIPv4("ens19"))
        // And they audit alike.
        func kinds(_ s: Snapshot) -> [String] {
            Audit(s).run().findings.map { "\($0.kind.rawValue) \($0.localAddress?.description ?? "") \($0.ingress ?? "") \($0.egress ?? "")" }.sorted()
        }
        #expect(kinds(editor.snapshot) == kinds(after))
    }

    /// Commands the kernel refuses, the editor refuses too, with the kernel's reason
    /// (a goto must point forward: fib_nl2rule's "Backward goto not supported", also against
    /// the default priority a rule without `pref` gets), and what it accepts, it accepts.
    @Test func editorRefusesWhatTheKernelRefuses() throws {
        let lab = LabNamespaces("goto")
        let ns = try lab.add("a")
        let snap = try Collector.collect(CollectOptions(netns: [ns], includeRoot: false, sockets: false))
        for (command, kernelAccepts) in [("ip -n %S rule add pref 10 goto 10", false), ("ip -n %S rule add pref 10 goto 9", false),
                                         ("ip -n %S rule add goto 5", false), ("ip -n %S -6 rule add pref 10 goto 10", false),
                                         ("ip -n %S rule add pref 10 goto 11", true)] {
            let line = command.replacingOccurrences(of: "%S", with: ns)
            let answer = try Live.sh(line + " 2>&1; echo \"rc=$?\"")
            let kernelError = answer.hasSuffix("rc=0\n") ? "" : answer
            #expect(kernelError.isEmpty == kernelAccepts, "\(line): kernel said \(answer)")
            var editor = SnapshotEditor(snap, defaultNamespace: ns)
            do {
                try editor.apply(line)
                #expect(kernelAccepts, "the editor accepted \(line), the kernel refused it: \(kernelError)")
            } catch {
                #expect(!kernelAccepts, "the editor refused \(line): \(error)")
                #expect(kernelError.contains("Backward goto not supported") && error.message.contains("Backward goto not supported"))
            }
        }
    }

    static func rules(_ ns: NamespaceSnapshot) -> Set<String> {
        Set(ns.rules.map { r in
            "\(r.family) \(r.priority) \(r.action) \(r.table) \(r.src?.description ?? "-") \(r.dst?.description ?? "-") \(r.fwmark ?? 0)/\(r.fwmask ?? 0)"
        })
    }

    /// Routes as the FIB uses them (IPv6 link-local, multicast and cache entries aside: the
    /// kernel adds and ages those on its own).
    static func routes(_ ns: NamespaceSnapshot) -> Set<String> {
        Set(ns.routes.filter { r in
            !(r.family == .v6 && (r.dst.address.isLinkLocal || r.dst.address.isMulticast || r.type == .multicast))
        }.map { r in
            "\(r.family) t\(r.table) \(r.type) \(r.dst) via \(r.gateway?.description ?? "-") dev \(ns.linkName(r.oif) ?? "-") metric \(r.metric) src \(r.prefsrc?.description ?? "-") scope \(r.scope) flags \(r.flags & 0xff)"
        })
    }

    static func addresses(_ ns: NamespaceSnapshot) -> Set<String> {
        Set(ns.addresses.filter { !($0.family == .v6 && $0.local.isLinkLocal) }.map { "\(ns.linkName($0.index) ?? "?") \($0.local)/\($0.prefixlen)" })
    }
}
