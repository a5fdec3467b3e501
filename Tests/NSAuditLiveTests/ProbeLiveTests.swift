import Foundation
import NSAuditCore
import NSAuditLinux
import Testing

/// LiveProbe on IPv6 and on answers the differential's IPv4 topologies do not produce: an
/// ICMPv6 echo, a TCP SYN taken by a listener, one refused, a UDP datagram to a closed
/// port, and a probe whose start namespace has no route.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct ProbeLiveTests {
    @Test func ipv6ProbesSeenWhereTheyCross() throws {
        let lab = LabNamespaces("probe")
        let a = try lab.add("a"), b = try lab.add("b")
        for n in [a, b] { try Live.sh("ip netns exec \(n) sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0") }
        try Live.sh("ip link add v0 netns \(a) type veth peer name w0 netns \(b)")
        try Live.sh("ip -n \(a) -6 addr add fd07::1/64 dev v0 nodad && ip -n \(b) -6 addr add fd07::2/64 dev w0 nodad")
        try Live.sh("ip -n \(a) link set v0 up && ip -n \(b) link set w0 up")
        let pid = try Live.sh("ip netns exec \(b) socat TCP6-LISTEN:22,reuseaddr,fork /dev/null >/dev/null 2>&1 & echo $!")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Live.sh("kill \(pid)") }
        var waited = 0
        while !(try Live.sh("ip netns exec \(b) ss -Hltn 'sport = :22'")).contains("22"), waited < 100 { usleep(20_000); waited += 1 }
        // A fresh veth's first neighbour solicitation can go unanswered (the peer joins its
        // solicited-node group as its link comes up): resolve once before probing.
        try Live.sh("ip netns exec \(a) ping -6 -c1 -W3 fd07::2 >/dev/null")
        let dst = IPAddress("fd07::2")!
        let plans = [
            ProbePlan(flow: ProbeFlow(proto: .icmp, dst: dst), netns: a, captureNetns: [a, b], timeout: 1),
            ProbePlan(flow: ProbeFlow(proto: .tcp, dst: dst, dport: 22), netns: a, captureNetns: [a, b], timeout: 1),
            ProbePlan(flow: ProbeFlow(proto: .tcp, dst: dst, dport: 23), netns: a, captureNetns: [a, b], timeout: 1),
            ProbePlan(flow: ProbeFlow(proto: .udp, dst: dst, dport: 9), netns: a, captureNetns: [a, b], timeout: 1),
            ProbePlan(flow: ProbeFlow(proto: .udp, dst: IPAddress("fd99::1")!, dport: 9), netns: a, captureNetns: [a, b], timeout: 1),
        ]
        let o = try LiveProbe.run(plans)
        let there: Set<ProbeCrossing> = [ProbeCrossing(netns: a, interface: "v0", direction: .egress, leg: .request),
                                         ProbeCrossing(netns: b, interface: "w0", direction: .ingress, leg: .request)]
        func back(_ leg: ProbeLeg) -> Set<ProbeCrossing> {
            [ProbeCrossing(netns: b, interface: "w0", direction: .egress, leg: leg), ProbeCrossing(netns: a, interface: "v0", direction: .ingress, leg: leg)]
        }
        #expect(o[0].answer == .reply, "\(o[0])")
        #expect(Set(o[0].crossings) == there.union(back(.reply)), "\(o[0])")
        #expect(o[0].flow.src == IPAddress("fd07::1") && o[0].sourceChosen)
        #expect(o[1].answer == .reply && Set(o[1].crossings) == there.union(back(.reply)), "\(o[1])")
        #expect(o[2].answer == .refused && Set(o[2].crossings) == there.union(back(.refusal)), "\(o[2])")
        #expect(o[3].answer == .refused && Set(o[3].crossings) == there.union(back(.refusal)), "\(o[3])")
        #expect(o[3].icmpErrors == [ProbeICMPError(from: dst, type: 1, code: 4)])
        #expect(o[4].answer == .sendFailed("ENETUNREACH") && o[4].crossings.isEmpty, "\(o[4])")
        #expect(o.allSatisfy { $0.blind.isEmpty })
    }
}
