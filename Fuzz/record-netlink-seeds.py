#!/usr/bin/env python3
"""Records the netlink fuzz target's seeds (Fuzz/corpus/netlink/) from a live kernel: builds
a throwaway namespace (nsafuzz-<pid>: veths, IPv4/IPv6 addresses, policy rules with most
selectors, routes of several types with metrics, multipath, nexthop objects and a group, a
listening TCP and a UDP socket), then sends the dumps nsaudit's collector sends and writes
each answer datagram, exactly as recv() returned it, to one seed file. The namespace is
deleted whatever happens. Run as root:

    python3 Fuzz/record-netlink-seeds.py
"""
import os
import socket
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fuzz", "corpus", "netlink")

NETLINK_ROUTE, NETLINK_SOCK_DIAG = 0, 4
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE = 18, 22, 26, 34
RTM_GETNSID, RTM_GETNEXTHOP = 90, 106
SOCK_DIAG_BY_FAMILY = 20
NLMSG_DONE, NLMSG_ERROR = 3, 2
AF_UNSPEC, AF_INET, AF_INET6 = 0, 2, 10


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, t) + payload + b"\0" * ((4 - n % 4) % 4)


def done(data):
    """Whether a dump's datagram holds its NLMSG_DONE (or an error)."""
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if mtype in (NLMSG_DONE, NLMSG_ERROR):
            return True
        if length < 16:
            return True
        off += (length + 3) & ~3
    return False


def exchange(proto, mtype, flags, body, name, limit=3):
    """Sends one request; writes up to `limit` answer datagrams to NAME-k.bin."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    try:
        s.bind((0, 0))
        s.settimeout(5)
        s.send(struct.pack("=IHHII", 16 + len(body), mtype, flags, 1, 0) + body)
        for k in range(limit):
            data = s.recv(1 << 16)
            if len(data) <= 20 and done(data):
                return  # NLMSG_DONE alone: nothing to decode
            with open(os.path.join(OUT, f"{name}-{k}.bin"), "wb") as f:
                f.write(data)
            if not flags & NLM_F_DUMP or done(data):
                return
    finally:
        s.close()


def record_inside(ns_path):
    """Runs inside the namespace (ip netns exec)."""
    dump = NLM_F_REQUEST | NLM_F_DUMP
    exchange(NETLINK_ROUTE, RTM_GETLINK, dump, struct.pack("=BxHiII", AF_UNSPEC, 0, 0, 0, 0), "links")
    exchange(NETLINK_ROUTE, RTM_GETADDR, dump, struct.pack("=BBBBi", AF_UNSPEC, 0, 0, 0, 0), "addresses")
    for fam, tag in [(AF_INET, "4"), (AF_INET6, "6")]:
        exchange(NETLINK_ROUTE, RTM_GETRULE, dump, struct.pack("=BBBBBBBBI", fam, 0, 0, 0, 0, 0, 0, 0, 0), "rules" + tag)
        exchange(NETLINK_ROUTE, RTM_GETROUTE, dump, struct.pack("=BBBBBBBBI", fam, 0, 0, 0, 0, 0, 0, 0, 0), "routes" + tag)
    exchange(NETLINK_ROUTE, RTM_GETNEXTHOP, dump, struct.pack("=BBBBI", AF_UNSPEC, 0, 0, 0, 0), "nexthops")
    # route get answers (RTA_DST; and with a source and an input interface)
    rt = struct.pack("=BBBBBBBBI", AF_INET, 32, 0, 0, 0, 0, 0, 0, 0)
    exchange(NETLINK_ROUTE, RTM_GETROUTE, NLM_F_REQUEST, rt + attr(1, socket.inet_aton("198.51.100.7")), "routeget4")
    rt = struct.pack("=BBBBBBBBI", AF_INET6, 128, 0, 0, 0, 0, 0, 0, 0)
    exchange(NETLINK_ROUTE, RTM_GETROUTE, NLM_F_REQUEST, rt + attr(1, socket.inet_pton(AF_INET6, "2001:db8:7::1")), "routeget6")
    # the nsid of the namespace itself (NETNSA_FD)
    fd = os.open(ns_path, os.O_RDONLY)
    exchange(NETLINK_ROUTE, RTM_GETNSID, NLM_F_REQUEST, struct.pack("=Bxxx", AF_UNSPEC) + attr(3, struct.pack("=I", fd)), "nsid")
    os.close(fd)
    # sock_diag: TCP and UDP sockets of both families (inet_diag_req_v2)
    listeners = []
    for fam, addr in [(AF_INET, "10.91.0.1"), (AF_INET6, "fd00:91::1")]:
        t = socket.socket(fam, socket.SOCK_STREAM); t.bind((addr, 2222)); t.listen(); listeners.append(t)
        u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((addr, 5353)); listeners.append(u)
    for fam, tag in [(AF_INET, "4"), (AF_INET6, "6")]:
        for proto, pname in [(6, "tcp"), (17, "udp")]:
            req = struct.pack("=BBBxI", fam, proto, 0, 0x1ffe & ~(1 << 6)) + b"\0" * 48
            exchange(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, dump, req, f"sockets-{pname}{tag}")
    for s in listeners:
        s.close()


def ip(ns, *args):
    subprocess.run(["ip", "-n", ns] + list(args), check=True)


def build(ns):
    subprocess.run(["ip", "netns", "add", ns], check=True)
    ip(ns, "link", "set", "lo", "up")
    ip(ns, "link", "add", "a0", "type", "veth", "peer", "name", "b0")
    ip(ns, "link", "add", "a1.10", "mtu", "1400", "type", "veth", "peer", "name", "b1")
    for dev in ["a0", "b0", "a1.10", "b1"]:
        ip(ns, "link", "set", dev, "up")
    ip(ns, "addr", "add", "10.91.0.1/24", "brd", "+", "dev", "a0")
    ip(ns, "addr", "add", "10.92.0.1/24", "dev", "a1.10", "label", "a1.10:x")
    ip(ns, "addr", "add", "10.93.0.1", "peer", "10.93.0.2", "dev", "a1.10")
    ip(ns, "-6", "addr", "add", "fd00:91::1/64", "dev", "a0", "nodad")
    ip(ns, "-6", "addr", "add", "fd00:92::1/64", "dev", "a1.10", "nodad", "valid_lft", "300", "preferred_lft", "200")
    ip(ns, "route", "add", "default", "via", "10.91.0.254", "dev", "a0", "metric", "10", "mtu", "1300", "advmss", "1260")
    ip(ns, "route", "add", "198.51.100.0/24", "table", "100", "proto", "static",
       "nexthop", "via", "10.91.0.2", "dev", "a0", "weight", "2", "nexthop", "via", "10.92.0.2", "dev", "a1.10")
    ip(ns, "route", "add", "blackhole", "203.0.113.0/24", "table", "200")
    ip(ns, "route", "add", "prohibit", "192.0.2.0/24")
    ip(ns, "route", "add", "10.99.0.0/16", "via", "inet6", "fe80::1", "dev", "a0")
    ip(ns, "-6", "route", "add", "2001:db8:7::/48", "from", "fd00:92::/64", "via", "fd00:92::2", "dev", "a1.10", "pref", "high")
    ip(ns, "-6", "route", "add", "default", "via", "fd00:91::fe", "dev", "a0", "metric", "1024")
    ip(ns, "nexthop", "add", "id", "1", "via", "10.91.0.3", "dev", "a0")
    ip(ns, "nexthop", "add", "id", "2", "via", "10.92.0.3", "dev", "a1.10")
    ip(ns, "nexthop", "add", "id", "3", "group", "1,3/2")
    ip(ns, "nexthop", "add", "id", "4", "blackhole")
    ip(ns, "route", "add", "172.16.0.0/12", "nhid", "3")
    ip(ns, "rule", "add", "from", "10.92.0.0/24", "to", "198.51.100.0/24", "iif", "a1.10", "fwmark", "0x10/0xff",
       "tos", "0x10", "table", "100", "pref", "100")
    ip(ns, "rule", "add", "ipproto", "tcp", "sport", "1000-2000", "dport", "22", "uidrange", "100-200",
       "oif", "a0", "table", "200", "pref", "200")
    ip(ns, "rule", "add", "not", "from", "all", "fwmark", "7", "lookup", "main", "suppress_prefixlength", "0",
       "suppress_ifgroup", "5", "pref", "300")
    ip(ns, "rule", "add", "pref", "400", "goto", "500")
    ip(ns, "rule", "add", "pref", "500", "prohibit")
    ip(ns, "-6", "rule", "add", "from", "fd00:92::/64", "table", "100", "pref", "100")
    ip(ns, "-6", "rule", "add", "to", "2001:db8::/32", "unreachable", "pref", "110")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        record_inside(sys.argv[2])
        return
    if os.geteuid() != 0:
        sys.exit("record-netlink-seeds.py: needs root (it creates a network namespace)")
    ns = f"nsafuzz-{os.getpid()}"
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    try:
        build(ns)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--inside",
                        f"/run/netns/{ns}"], check=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
    print(f"wrote {len(os.listdir(OUT))} seeds to {os.path.relpath(OUT, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
