import Foundation
@testable import NSAuditCore
import Testing

/// Severity from what lies behind the ingress (issue 11, item 1), on the recorded labs: an
/// interface whose far side the snapshot cannot see may have routers behind it, so a
/// return-path finding for clients reached only through a default route is a warning; where
/// the snapshot sees the far side, it decides from what it sees.
@Suite struct FarSideSeverityTests {
    /// The lab's snapshot with only the namespaces whose role is in `roles` (as `report
    /// --netns` collects them on a real host, where the routers are other boxes).
    static func only(_ lab: String, _ roles: [String]) throws -> Snapshot {
        var snap = try Lab.snapshot(lab)
        snap.namespaces.removeAll { ns in !roles.contains { ns.id == "nsarec-" + $0 } }
        #expect(snap.namespaces.count == roles.count)
        return snap
    }

    static func warnings(_ r: Report) -> [Finding] { r.findings.filter { $0.severity >= .warning } }

    static func interface(_ r: Report, _ netns: String, _ name: String) -> ReportInterface? {
        r.namespaces.first { $0.name == netns }?.interfaces.first { $0.name == name }
    }

    @Test func brokenServerAloneWarnsForTheManagementAddress() throws {
        let r = Lab.report(try Self.only("mgmt-broken", ["server"]), source: "t")
        for a in ["10.99.0.40", "fd00:99::40"] {
            let f = try #require(Lab.findings(r, address: a, kinds: [.asymmetricReply]).first { $0.ingress == "ens19" })
            #expect(f.severity == .warning, "\(a)")
            #expect(f.egress == "ens18")
            #expect(f.details?["ingress_far_side"] == "unseen: veth whose peer namespace was not collected")
        }
        // Only those two: the data side's findings stay info.
        #expect(Self.warnings(r).count == 2)
        #expect((r.worstCounted() ?? .info) >= .warning)
        let ens19 = try #require(Self.interface(r, "nsarec-server", "ens19"))
        #expect(ens19.kind == "veth")
        #expect(ens19.farSide == ReportFarSide(state: .unseen, detail: "veth whose peer namespace was not collected"))
    }

    @Test func strictRPFilterServerAloneWarnsOfTheDrop() throws {
        let r = Lab.report(try Self.only("mgmt-rpfilter", ["server"]), source: "t")
        let drop = try #require(Lab.findings(r, address: "10.99.0.40", kinds: [.rpFilterDrop]).first)
        #expect(drop.severity == .warning)
        #expect(drop.ingress == "ens19")
        #expect((r.worstCounted() ?? .info) >= .warning)
    }

    @Test(arguments: [("mgmt-netns", ["server", "mgmt"]), ("mgmt-srcroute", ["server"])])
    func fixesAuditedWithoutTheRoutersHaveNoWarning(_ lab: String, _ roles: [String]) throws {
        let r = Lab.report(try Self.only(lab, roles), source: "t")
        #expect(Self.warnings(r).isEmpty, "\(Self.warnings(r).map(\.summary))")
        #expect((r.worstCounted() ?? .info) < .warning)
    }

    @Test func dockerHostHasNoWarning() throws {
        let r = Lab.report(try Lab.snapshot("docker-host"), source: "t")
        #expect(Self.warnings(r).isEmpty, "\(Self.warnings(r).map(\.summary))")
        let docker0 = try #require(Self.interface(r, "nsarec-host", "docker0"))
        #expect(docker0.kind == "bridge" && docker0.lower == ["veth3f9a1c1", "veth3f9a1c2", "veth3f9a1c3"])
        #expect(docker0.farSide?.state == .seen)
        #expect(docker0.farSide?.detail == "bridge ports lead to namespaces nsarec-ctr1, nsarec-ctr2, nsarec-ctr3")
    }

    /// A third NIC to a storage box the snapshot holds, which does not forward: nothing from
    /// beyond 10.50.0.0/24 can arrive there, so no warning; without the storage namespace,
    /// the same NIC's far side is unseen and the finding is a warning.
    @Test func storageNamespaceInTheSnapshotIsSeenAndDoesNotForward() throws {
        let with = Lab.report(try Self.only("mgmt-storage", ["server", "storage"]), source: "t")
        #expect(Self.warnings(with).isEmpty, "\(Self.warnings(with).map(\.summary))")
        let ens20 = try #require(Self.interface(with, "nsarec-server", "ens20"))
        #expect(ens20.farSide == ReportFarSide(state: .seen, detail: "namespace nsarec-storage (eth0)"))
        let storage = try #require(Lab.findings(with, address: "10.50.0.40", kinds: [.asymmetricReply]).first { $0.ingress == "ens20" })
        #expect(storage.severity == .info)
        let full = Lab.report(try Lab.snapshot("mgmt-storage"), source: "t")
        #expect(Self.warnings(full).isEmpty)
        let without = Lab.report(try Self.only("mgmt-storage", ["server"]), source: "t")
        #expect(Lab.findings(without, address: "10.50.0.40", kinds: [.asymmetricReply]).first { $0.ingress == "ens20" }?.severity == .warning)
    }

    /// The hand-written physical server (fixtures/handwritten/make-physical-server.py):
    /// hardware NICs, no namespace behind them.
    @Test func physicalTwoNICServerWarns() throws {
        let r = Lab.report(try Lab.snapshot("physical-server"), source: "t")
        for a in ["10.99.0.40", "fd00:99::40"] {
            #expect(Lab.findings(r, address: a, kinds: [.asymmetricReply]).first { $0.ingress == "ens19" }?.severity == .warning, "\(a)")
        }
        #expect(Self.warnings(r).count == 2)
        let ens18 = try #require(Self.interface(r, "nsarec-server", "ens18"))
        #expect(ens18.kind == "hardware")
        #expect(ens18.farSide == ReportFarSide(state: .unseen, detail: "hardware NIC (pci 0000:00:12.0)"))
    }

    /// The whole broken lab: the far sides are seen, and the right router forwards on ens19's
    /// subnet, so the finding stays a warning; the routers' own findings stay info.
    @Test func wholeBrokenLabDecidesFromWhatItSees() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t")
        #expect(Set(Self.warnings(r).compactMap { $0.localAddress?.description }) == ["10.99.0.40", "fd00:99::40"])
        #expect(Self.interface(r, "nsarec-server", "ens19")?.farSide == ReportFarSide(state: .seen, detail: "namespace nsarec-right-router (eth1)"))
    }

    /// Far sides of devices the labs cannot build here (this kernel has no dummy, vlan or
    /// bond driver): decided from link kinds and relations alone.
    @Test func farSidesOfOtherDeviceKinds() throws {
        var snap = try Self.only("mgmt-broken", ["server"])
        var ns = snap.namespaces[0]
        func add(_ name: String, _ kind: String?, link: Int32? = nil, master: Int32? = nil, parent: String? = nil) -> Int32 {
            var l = Link(index: Int32(100 + ns.links.count), name: name, flags: LinkFlags.up, operstate: "UP")
            l.kind = kind; l.link = link; l.master = master; l.parentDev = parent; l.parentBus = parent.map { _ in "pci" }
            ns.links.append(l)
            return l.index
        }
        _ = add("dummy0", "dummy")
        _ = add("wg0", "wireguard")
        let nic = add("eno1", nil, parent: "0000:01:00.0")
        _ = add("eno1.20", "vlan", link: nic)
        let bond = add("bond0", "bond")
        _ = add("eno2", nil, master: bond)
        _ = add("br1", "bridge")
        snap.namespaces[0] = ns
        func far(_ name: String) -> FarSide { snap.farSide(of: ns.link(named: name)!, in: ns) }
        #expect(far("dummy0").state == .none)
        #expect(far("wg0") == FarSide(state: .unseen, detail: "wireguard tunnel"))
        #expect(far("eno1") == FarSide(state: .unseen, detail: "hardware NIC (pci 0000:01:00.0)"))
        #expect(far("eno1.20") == FarSide(state: .unseen, detail: "vlan over eno1: hardware NIC (pci 0000:01:00.0)"))
        #expect(far("bond0") == FarSide(state: .unseen, detail: "bond port eno2: hardware NIC"))
        #expect(far("br1").state == .none)
        #expect(far("lo").state == .none)
        let facing = snap.routerFacingInterfaces(ns)
        #expect(facing.isSuperset(of: ["wg0", "eno1", "eno1.20", "bond0", "ens18", "ens19"]))
        #expect(facing.isDisjoint(with: ["dummy0", "br1", "lo"]))
    }
}
