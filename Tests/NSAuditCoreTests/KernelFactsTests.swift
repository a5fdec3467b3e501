import Foundation
@testable import NSAuditCore
import Testing

/// Kernel facts in the snapshot and the model's branches on them; the typed per-device
/// settings and their sysctl(8) names (dotted device names included).
@Suite struct KernelFactsTests {
    @Test func versionsParseAndCompare() {
        #expect(KernelFacts(release: "6.18.44-fc-v857", ipv6MulticastRouting: true).version! == (6, 18))
        #expect(KernelFacts(release: "5.2.21", ipv6MulticastRouting: true).zeronetIsSlash8)
        #expect(!KernelFacts(release: "5.3.0", ipv6MulticastRouting: true).zeronetIsSlash8)
        #expect(!KernelFacts(release: "4.19.0", ipv6MulticastRouting: true).atLeast(5, 3))
        // An unknown release counts as a current kernel.
        #expect(KernelFacts(release: "custom", ipv6MulticastRouting: true).version == nil)
        #expect(!KernelFacts(release: "custom", ipv6MulticastRouting: true).zeronetIsSlash8)
    }

    /// 0.0.0.0/8 sources: martians before Linux 5.3 (ipv4_is_zeronet was /8), ordinary
    /// unicast since (commit 96125bf9985a). Live answers of 6.18 are in the recorded corpus.
    @Test func zeronetSourcesFollowTheKernelVersion() throws {
        var ns = LookupTests.server()
        ns.kernel = KernelFacts(release: "6.18.44", ipv6MulticastRouting: false)
        let now = RoutingModel(ns)
        #expect(try now.routeGet(line: "10.99.0.40 iif ens19 from 0.1.2.3").type == .local)
        #expect(try now.routeGet(line: "10.20.30.9 from 0.1.2.3").error == .ENETUNREACH)   // not a local address
        #expect(try now.routeGet(line: "10.99.0.40 iif ens19 from 0.0.0.0").error == .EINVAL)
        ns.kernel = KernelFacts(release: "5.2.0", ipv6MulticastRouting: false)
        let old = RoutingModel(ns)
        #expect(try old.routeGet(line: "10.99.0.40 iif ens19 from 0.1.2.3").error == .EINVAL)
        #expect(try old.routeGet(line: "10.20.30.9 from 0.1.2.3").error == .EINVAL)
    }

    @Test func snapshotsCarryTheirFactsAndOlderFilesSayWhatWasAssumed() throws {
        var s = Snapshot(generator: "g", host: "h", kernel: "6.18.44-x", takenAt: "t",
                         kernelFacts: KernelFacts(release: "6.18.44-x", ipv6MulticastRouting: false),
                         namespaces: [LookupTests.server()])
        #expect(s.namespaces[0].kernel == s.kernelFacts)
        let bytes = SnapshotWriter.encode(s)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""kernel_facts":{"release":"6.18.44-x","ipv6_multicast_routing":false}"#))
        let back = try SnapshotReader.decode(Data(bytes), name: "x")
        #expect(back == s)
        #expect(try SnapshotReader.decodeWithFoundation(Data(bytes), name: "x") == s)
        #expect(back.kernelFacts.recorded && back.kernelFacts.assumption == nil)
        // Namespaces added later get the facts too.
        s.namespaces.append(NamespaceSnapshot(id: "other"))
        #expect(s.namespaces[1].kernel == s.kernelFacts)
        // A file without facts: the documented defaults, marked as assumed.
        let old = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: #""kernel_facts":{"release":"6.18.44-x","ipv6_multicast_routing":false},"#, with: "")
        let o = try SnapshotReader.decode(Data(old.utf8), name: "old")
        #expect(!o.kernelFacts.recorded && o.kernelFacts.ipv6MulticastRouting && o.kernelFacts.release == "6.18.44-x")
        #expect(o.namespaces[0].kernel == o.kernelFacts)
        #expect(o.kernelFacts.assumption?.head.contains("assumed Linux 6.18") == true)
        #expect(!String(decoding: SnapshotWriter.encode(o), as: UTF8.self).contains("kernel_facts"))
    }

    @Test func settingsKeepDottedDeviceNamesApart() {
        let s = RoutingSettings(sysctls: [
            "net.ipv4.conf.x/10.rp_filter": 1, "net.ipv4.conf.x.rp_filter": 0, "net.ipv4.conf.bond0/200.accept_local": 1,
            "net.ipv4.conf.all.rp_filter": 0, "net.ipv6.conf.x/10.use_oif_addrs_only": 1, "net.ipv4.ip_forward": 1,
            "net.ipv4.conf.all.bc_forwarding": 1, "net.ipv4.conf.x/10.bc_forwarding": 1, "net.core.other": 7,
        ])
        #expect(s.ipv4.devices["x.10"]?.rpFilter == 1 && s.ipv4.devices["x"]?.rpFilter == 0)
        #expect(s.effectiveIPv4("x.10").rpFilter == 1 && s.effectiveIPv4("x").rpFilter == 0)
        #expect(s.effectiveIPv4("bond0.200").acceptLocal)
        #expect(s.effectiveIPv6("x.10").useOifAddrsOnly && !s.effectiveIPv6("x").useOifAddrsOnly)
        #expect(s.effectiveIPv4("x.10").bcForwarding && !s.effectiveIPv4("x").bcForwarding)
        #expect(s.effectiveIPv4("x").forwarding)   // no device value: ip_forward
        #expect(s.other == ["net.core.other": 7])
        #expect(RoutingSettings(sysctls: s.byName) == s)
        // sysctl -w accepts the slash notation, where the device keeps its dots.
        var t = RoutingSettings()
        let known = t.set("net/ipv4/conf/x.10/rp_filter", 2)
        #expect(known)
        #expect(t.ipv4.devices["x.10"]?.rpFilter == 2)
    }

    /// The FIB model reads per-device settings of dotted devices (they used to be looked up
    /// under the wrong name and never reached it).
    @Test func rpFilterOnADottedDeviceDecidesTheLookup() throws {
        var ns = LookupTests.server()
        ns.links[2].name = "x.10"
        ns.settings = RoutingSettings(sysctls: ["net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.x/10.rp_filter": 1])
        let m = RoutingModel(ns)
        #expect(try m.routeGet(line: "10.99.0.40 from 8.8.8.8 iif x.10").error == .EINVAL)
        ns.settings = RoutingSettings(sysctls: ["net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.x/10.rp_filter": 0])
        #expect(try RoutingModel(ns).routeGet(line: "10.99.0.40 from 8.8.8.8 iif x.10").type == .local)
    }
}
