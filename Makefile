# nsaudit — the two commands a new machine needs:
#   make report   install what the build needs, build, and print a report of this host
#   make test     install what the build needs, build, and run every test (live ones as root)
#   make fuzz     run every fuzz target for FUZZ_SECONDS (default 60) each (Fuzz/run.sh)

SWIFT ?= swift
FUZZ_SECONDS ?= 60
DEB_PACKAGES = libpcap-dev iproute2 iputils-ping socat tcpdump python3 procps time prometheus

.PHONY: deps build release report snapshot test fuzz bench clean

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

fuzz: deps
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) bash Fuzz/run.sh

clean:
	rm -rf .build .build-fuzz
