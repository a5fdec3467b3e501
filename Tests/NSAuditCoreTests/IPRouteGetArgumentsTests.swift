import Foundation
import NSAuditCore
import Testing

/// `ip route get`'s own argument syntax (IPRouteGetArguments), the names files iproute2
/// reads (IPRouteNames) and the drop-in's global options: the corner cases a script may hit.
@Suite("ip route get arguments, as ip reads them")
struct IPRouteGetArgumentsTests {
    static func devices(_ name: String) -> (exists: Bool, isVRF: Bool)? {
        switch name { case "e0", "e1": (true, false); case "blue": (true, true); default: nil }
    }

    static func parse(_ line: String, family: IPAddress.Family? = nil) -> Result<IPRouteGetArguments.Parsed, IPRouteGetArguments.Failure> {
        IPRouteGetArguments.parse(line.split(separator: " ").map(String.init), family: family, device: devices, usage: "usage\n")
    }

    static func query(_ line: String, family: IPAddress.Family? = nil) throws -> RouteQuery {
        try parse(line, family: family).get().query
    }

    static func failure(_ line: String, family: IPAddress.Family? = nil) -> IPRouteGetArguments.Failure? {
        if case .failure(let f) = parse(line, family: family) { return f }
        return nil
    }

    @Test("iproute2's IPv4 syntax: short forms, hexadecimal and octal parts, default/any")
    func addresses() throws {
        #expect(try Self.query("10").dst == IPAddress("10.0.0.0"))
        #expect(try Self.query("10.1").dst == IPAddress("10.1.0.0"))
        #expect(try Self.query("0x0a.1.0.5").dst == IPAddress("10.1.0.5"))
        #expect(try Self.query("010.1.0.5").dst == IPAddress("8.1.0.5"))
        #expect(try Self.query("default").dst == IPAddress("0.0.0.0"))
        #expect(try Self.query("any", family: .v6).dst == IPAddress("::"))
        #expect(try Self.query("2001:db8::1/128").dst == IPAddress("2001:db8::1"))
        for bad in ["256.1.1.1", "1.2.3.4.5", "1..2.3", "1.2.3.", "08.1.1.1", "0x", "fe80::1%e0", "10.0.0.1/33"] {
            #expect(Self.failure(bad)?.stderr == "Error: any valid prefix is expected rather than \"\(bad)\".\n", "\(bad)")
            #expect(Self.failure(bad)?.status == 1)
        }
        #expect(Self.failure("8.8.8.8 from 2001:db8::1")?.stderr == "Error: inet prefix is expected rather than \"2001:db8::1\".\n")
        #expect(Self.failure("8.8.8.8", family: .v6)?.stderr == "Error: inet6 prefix is expected rather than \"8.8.8.8\".\n")
    }

    @Test("a destination prefix is kept with ip's warning; a source prefix is refused by the kernel")
    func prefixes() throws {
        let p = try Self.parse("8.8.8.8/24").get()
        #expect(p.query.dst == IPAddress("8.8.8.8"))
        #expect(p.warnings == "Warning: /24 as prefix is invalid, only /32 (or none) is supported.\n")
        #expect(try Self.parse("8.8.8.8/255.255.255.0").get().warnings.contains("/24 as prefix"))
        #expect(Self.failure("8.8.8.8 from 10.0.0.0/8") == .init(stderr: "Error: ipv4: Invalid values in header for route get request.\n", status: 2))
        #expect(Self.failure("8.8.8.8 from default") == .init(stderr: "Error: ipv4: rtm_src_len and rtm_dst_len must be 32 for IPv4.\n", status: 2))
        #expect(Self.failure("2001:db8::1 from 2001:db8::/64")?.stderr == "Error: ipv6: Invalid values in header for get route request.\n")
        #expect(try Self.query("from default 8.8.8.8").src == nil)
    }

    @Test("keywords may be abbreviated as ip allows, in ip's order")
    func abbreviations() throws {
        let q = try Self.query("8.8.8.8 f 10.1.0.1 d 0x10 m 0x15 o e1 u 7 ip tcp s 53 dp 80 fi")
        #expect(q.src == IPAddress("10.1.0.1") && q.tos == 0x10 && q.mark == 0x15 && q.oif == "e1")
        #expect(q.uid == 7 && q.ipproto == 6 && q.sport == 53 && q.dport == 80 && q.fibmatch)
        #expect(try Self.query("to 8.8.8.8 tos AF11 dev e0 ipproto TCP").tos == 0x28)
        #expect(try Self.query("8.8.8.8 vrf blue").oif == "blue")
        #expect(try Self.query("8.8.8.8 i e0 from 10.1.0.7").iif == "e0")
        #expect(try Self.query("8.8.8.8 c n").connected)
        #expect(IPRouteGetArguments.matches("", "from") && IPRouteGetArguments.matches("fr", "from") && !IPRouteGetArguments.matches("fx", "from"))
    }

    @Test("argument errors: ip's words and exit status")
    func errors() {
        #expect(Self.failure("8.8.8.8 mark zz") == .init(stderr: "Error: argument \"zz\" is wrong: invalid mark value\n", status: 255))
        #expect(Self.failure("8.8.8.8 mark 4294967296")?.status == 255)
        #expect(Self.failure("8.8.8.8 tos zz") == .init(stderr: "Error: argument \"zz\" is wrong: TOS value is invalid\n\n", status: 255))
        #expect(Self.failure("8.8.8.8 uid x")?.stderr == "Error: argument \"x\" is wrong: invalid UID\n\n")
        #expect(Self.failure("8.8.8.8 sport 70000")?.stderr == "Error: argument \"70000\" is wrong: invalid sport\n\n")
        #expect(Self.failure("8.8.8.8 ipproto zz")?.stderr == "Error: argument \"zz\" is wrong: Invalid \"ipproto\" value\n\n")
        #expect(Self.failure("8.8.8.8 vrf e0") == .init(stderr: "Error: argument \"e0\" is wrong: Invalid VRF\n\n", status: 255))
        #expect(Self.failure("8.8.8.8 iif") == .init(stderr: "Command line is not complete. Try option \"help\"\n", status: 255))
        #expect(Self.failure("8.8.8.8 from help") == .init(stderr: "usage\n", status: 255))
        #expect(Self.failure("") == .init(stderr: "need at least a destination address\n", status: 1))
        #expect(Self.failure("8.8.8.8 oif nosuch") == .init(stderr: "Cannot find device \"nosuch\"\n", status: 1))
        #expect(Self.failure("8.8.8.8 iif nosuch oif nosuch2")?.stderr == "Cannot find device \"nosuch\"\n")
        #expect(Self.failure("8.8.8.8 ipproto gre") == .init(stderr: "Error: Unsupported ip proto.\n", status: 2))
        #expect(Self.failure("2001:db8::1 ipproto icmp")?.stderr == "Error: Unsupported ip proto.\n")
        #expect(Self.failure("2001:db8::1 notify") == .init(stderr: "Error: ipv6: Invalid flags for get route request.\n", status: 2))
        #expect(Self.failure("8.8.8.8 as 1.1.1.1") == .init(stderr: "Error: ipv4: Unsupported attribute in route get request.\n", status: 2))
    }

    @Test("names files: a site's table, protocol and DSCP names are printed and read")
    func names() throws {
        var names = IPRouteNames.builtin
        names.merge(.tables, fileText: "# comment\n100\tisp # the uplink\n0x3e8 lab\nbroken line\n")
        names.merge(.protocols, fileText: "77 mine\n")
        names.merge(.dsfields, fileText: "0x10 lowdelay\n")
        #expect(names.tables[100] == "isp" && names.tables[1000] == "lab" && names.protocols[77] == "mine")
        var m = IPRouteMessage(family: .v4, type: .unicast, dst: IPAddress("10.9.0.0"), dstLength: 16)
        m.table = 100; m.protocol = 77; m.tos = 0x10; m.dev = "e0"
        #expect(IPRouteText.text(m, names: names) == "10.9.0.0/16 tos lowdelay dev e0 table isp proto mine ")
        #expect(IPRouteText.text(m) == "10.9.0.0/16 tos 0x10 dev e0 table 100 proto 77 ")
        let q = try IPRouteGetArguments.parse(["8.8.8.8", "tos", "lowdelay"], family: nil, names: names, device: Self.devices, usage: "").get().query
        #expect(q.tos == 0x10)
    }

    @Test("ip's global options: abbreviations, values, and the ones the drop-in refuses")
    func globalOptions() throws {
        let (o, rest) = try IPRouteGetDropIn.parseOptions(["-4", "-j", "-o", "-n", "ns1", "-f", "inet6", "--force", "-b", "f.txt", "route", "get", "1.1.1.1"]).get()
        #expect(o.family == .v6 && o.json && o.oneline && o.netns == "ns1" && o.force && o.batch == "f.txt")
        #expect(rest == ["route", "get", "1.1.1.1"])
        #expect(try IPRouteGetDropIn.parseOptions(["--", "-x"]).get().1 == ["-x"])
        guard case .failure(let f) = IPRouteGetDropIn.parseOptions(["-d", "route", "get", "1.1.1.1"]) else { Issue.record("-d accepted"); return }
        #expect(f.status == 255 && f.stderr.contains("\"-d\""))
    }
}
