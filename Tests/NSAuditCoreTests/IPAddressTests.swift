import NSAuditCore
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        "0.0.0.0", "10.20.30.40", "255.255.255.255", "::", "::1", "fe80::1", "2001:db8::",
        "2001:db8:0:1:1:1:1:1", "2001:0:0:1::1", "fd00:1::1", "::ffff:10.1.2.3", "::10.1.2.3",
        "1::", "1:2:3:4:5:6:7:8", "ff02::1:ff00:1",
    ])
    func roundTrips(_ text: String) throws {
        let a = try #require(IPAddress(text))
        #expect(a.description == text)
    }

    @Test func canonicalFormMatchesIp() {
        // inet_ntop: longest zero run compressed, first on ties, lower-case, no leading zeros
        #expect(IPAddress("2001:0db8:0000:0000:0001:0000:0000:0001")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("FD00:0:0:0:0:0:0:1")?.description == "fd00::1")
        #expect(IPAddress("2001:db8:0:1:0:0:0:0")?.description == "2001:db8:0:1::")
        #expect(IPAddress("::1:0:0:0:1")?.description == "::1:0:0:0:1")
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04a", ":::", "1::2::3", "12345::",
                      "1:2:3:4:5:6:7:8:9", "g::1", "1.2.3.4/24"])
    func rejectsMalformed(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("10.20.30.40/24"))
        #expect(p.description == "10.20.30.0/24")
        #expect(p.contains(IPAddress("10.20.30.255")!))
        #expect(!p.contains(IPAddress("10.20.31.0")!))
        #expect(IPPrefix("0.0.0.0/0")!.contains(IPAddress("1.2.3.4")!))
        #expect(!IPPrefix("0.0.0.0/0")!.contains(IPAddress("::1")!))
        #expect(IPPrefix("fd00:1::5/64")?.description == "fd00:1::/64")
        #expect(IPPrefix("10.0.0.0/33") == nil)
        #expect(IPPrefix("10.20.30.0/24")!.last.description == "10.20.30.255")
        #expect(IPPrefix("10.0.0.0/8")!.contains(IPPrefix("10.1.0.0/16")!))
    }
}

/// IPv4 text written byte by byte is the dotted quad of the four octets, with "/length" for
/// prefixes: on the edges and on random addresses of every length.
@Test func ipv4TextIsTheDottedQuad() {
    var s: UInt64 = 7
    var values: [UInt32] = [0, 1, 9, 10, 99, 100, 255, 256, 0x0a0b0c0d, 0xffff_ffff, 0x64646464]
    for _ in 0..<20_000 { s = s &* 6364136223846793005 &+ 1442695040888963407; values.append(UInt32(truncatingIfNeeded: s >> 29)) }
    for (k, v) in values.enumerated() {
        let quad = "\(v >> 24).\((v >> 16) & 0xff).\((v >> 8) & 0xff).\(v & 0xff)"
        #expect(IPAddress(v4: v).description == quad)
        let len = k % 33
        let p = IPPrefix(IPAddress(v4: v), len)
        let net = len == 0 ? 0 : v & ~UInt32((UInt64(1) << (32 - len)) - 1)
        #expect(p.description == "\(net >> 24).\((net >> 16) & 0xff).\((net >> 8) & 0xff).\(net & 0xff)/\(len)")
    }
}
