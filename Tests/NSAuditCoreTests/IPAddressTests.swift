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
