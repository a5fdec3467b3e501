#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (Fuzz/corpus/<target>/) from the repository's
fixtures: small, valid inputs of each parser, so that the fuzzer starts from what real input
looks like. Deterministic; rerun after a fixture changes. The netlink seeds are recorded from
a live kernel by Fuzz/record-netlink-seeds.py instead.

    python3 Fuzz/make-corpus.py
"""
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")


def fixture(path):
    return os.path.join(ROOT, path)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def one_namespace(path, ns_id):
    """A snapshot fixture cut down to one namespace (the fuzzer mutates small inputs faster)."""
    snap = json.load(open(fixture(path)))
    snap["namespaces"] = [n for n in snap["namespaces"] if n["id"] == ns_id]
    assert snap["namespaces"], (path, ns_id)
    return compact(snap)


def snapshot_seeds():
    # a server with a VRF and l3mdev rules; a router with multipath; a namespace with many
    # rules; two namespaces whose veths point at each other (peer resolution)
    write("snapshot", "mgmt-vrf-server.json", one_namespace("fixtures/snapshots/mgmt-vrf.json", "nsarec-server"))
    write("snapshot", "router-ecmp-router.json", one_namespace("fixtures/snapshots/router-ecmp.json", "nsarec-router"))
    write("snapshot", "policy.json", compact(json.load(open(fixture("fixtures/routeget/text/policy.snapshot.json")))))
    snap = json.load(open(fixture("fixtures/snapshots/mgmt-broken.json")))
    snap["namespaces"] = [n for n in snap["namespaces"] if n["id"] in ("nsarec-left-client", "nsarec-left-router")]
    write("snapshot", "mgmt-broken-pair.json", compact(snap))


def pcap_seeds():
    for name in ["mgmt-netns.server.pcap", "mgmt-netns.mgmt.pcap", "mgmt-broken.server.pcapng",
                 "mgmt-broken.server-ifaces.pcapng"]:
        shutil.copyfile(fixture("fixtures/pcaps/" + name), os.path.join(CORPUS, "pcap", name))


def routeget_seeds():
    # line 1: `ip` arguments (the drop-in); every line: a batch line (`ip -batch` takes
    # `route get ...`, `route-get --batch` takes the query alone)
    cases = [json.loads(l) for l in open(fixture("fixtures/routeget/text/policy.text.jsonl"))][1:]
    args = [c["args"] for c in cases]
    queries = [a.split("route get ", 1)[1] for a in args if a.startswith("route get ")]
    write("routeget", "ip-args.txt", "\n".join(args[:40]) + "\n")
    write("routeget", "batch-queries.txt", "# route-get --batch\n" + "\n".join(queries[:40]) + "\n")
    write("routeget", "v6.txt", "-6 -j route get 2001:db8::1 from 2001:db8:1::1 iif e1\n"
          "2001:db8::1\nfe80::1 oif e0\n::ffff:10.1.0.1 ipproto ipv6-icmp\n")
    write("routeget", "options.txt", "-4 -o -force route get 10.9.1.1 from 10.2.0.1 iif e1 mark 0x7 tos 0x10 "
          "uid 1500 ipproto udp sport 53 dport 53 connected\n"
          "route get to 10.9.1.1 vrf e2 notify\nr g fibmatch 192.0.7.77/32 dsfield 0x10\n")


def apply_seeds():
    # commands of every kind SnapshotEditor supports, on the names of fixtures/snapshots/mgmt-vrf.json
    write("apply", "source-routing.txt", """\
# source routing for ens19 (the fix nsaudit proposes)
ip route add 10.99.0.0/24 dev ens19 table 100
ip route add default via 10.99.0.1 dev ens19 table 100
ip rule add from 10.99.0.40 table 100 pref 100
ip -6 route add default via fd00:99::1 dev ens19 table 100
ip -6 rule add from fd00:99::40 lookup 100 priority 101
""")
    write("apply", "vrf.txt", """\
ip link add blue type vrf table 200
ip link set blue up
ip link set ens19 master blue
ip -n nsarec-left-router route replace 10.99.0.0/24 via 10.20.30.40 dev eth1 metric 10
ip netns exec nsarec-server sysctl -w net.ipv4.conf.all.rp_filter=1
sysctl -w net.ipv4.conf.ens18.rp_filter=2
""")
    write("apply", "edits.txt", """\
ip addr add 10.99.0.41/24 dev ens19
ip addr del 10.20.30.40/24 dev ens18
ip -6 addr add fd00:99::41/64 dev ens19 noprefixroute
ip route del default
ip rule add iif ens19 fwmark 0x10/0xff ipproto tcp dport 22 goto 32766 pref 50
ip rule add to 192.168.0.0/16 prohibit pref 60
ip rule del pref 60
ip link set ens18 down
ip link set ens19 nomaster
ip netns add nsarec-new
ip link set ens18 netns nsarec-new
ip -n nsarec-new link set ens18 up
""")


def flows_seeds():
    write("flows", "mgmt.yaml", """\
flows:
  - name: management ssh
    netns: nsarec-server
    clients: [192.168.127.0/24]
    to: 10.99.0.40
    protocol: tcp
    port: 22
    ingress: ens19
  - name: service
    netns: nsarec-server
    clients: [0.0.0.0/0]
    to: 10.20.30.40
    ingress: ens18
""")
    write("flows", "transit.yaml", """\
flows:
  - name: south to north
    netns: nsarec-left-router
    clients: [192.168.0.0/16]
    to: 0.0.0.0/0
    ingress: eth0
    egress: eth1
    transit: true
  - name: v6
    netns: nsarec-server
    clients: ["fd00:127::/64", "fd00:127::10"]
    to: "fd00:99::40"
    protocol: udp
    port: 53
    ingress: ens19
""")


if __name__ == "__main__":
    for t in ["snapshot", "pcap", "routeget", "apply", "flows"]:
        d = os.path.join(CORPUS, t)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    snapshot_seeds()
    pcap_seeds()
    routeget_seeds()
    apply_seeds()
    flows_seeds()
