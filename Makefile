# nsaudit — the two commands a new machine needs:
#   make report   install what the build needs, build, and print a report of this host
#   make test     install what the build needs, build, and run every test (live ones as root)

SWIFT ?= swift
DEB_PACKAGES = libpcap-dev iproute2 iputils-ping socat tcpdump python3 procps time prometheus nftables iptables

.PHONY: deps build release report snapshot test bench clean

deps:
	@bash scripts/install-deps.sh $(DEB_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

report: release
	.build/release/nsaudit report --format text --fail-on never

snapshot: release
	.build/release/nsaudit snapshot -o host-snapshot.json
	@echo "wrote host-snapshot.json" >&2

test: build
	$(SWIFT) test --no-parallel

clean:
	rm -rf .build
