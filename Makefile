# nsaudit — the two commands a new machine needs:
#   make report   install what the build needs, build, and print a report of this host
#   make test     install what the build needs, build, and run every test (live ones as root)
#   make fuzz     run every fuzz target for FUZZ_SECONDS (default 60) each (Fuzz/run.sh)
# and the package:
#   make deb      nsaudit_<version>_<arch>.deb (packaging/build-deb.sh: static Swift runtime,
#                 man pages, completions, units; lintian-checked)
#   make deb-test build it, install it here, run it, verify the units, purge it (root)

SWIFT ?= swift
FUZZ_SECONDS ?= 60
DEB_PACKAGES = libpcap-dev libyaml-dev iproute2 iputils-ping socat tcpdump python3 procps time prometheus nftables iptables
PACKAGING_TOOLS = dpkg-dev binutils lintian

# The commit `nsaudit --version` names (Package.swift reads it from the environment of
# swift build); empty without git, and the version then says "commit unknown".
NSAUDIT_GIT_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo -dirty)
export NSAUDIT_GIT_COMMIT

.PHONY: deps build release report snapshot test fuzz bench clean deb deb-test

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

deb: deps
	@bash scripts/install-deps.sh $(PACKAGING_TOOLS)
	packaging/build-deb.sh

deb-test: deps
	@bash scripts/install-deps.sh $(PACKAGING_TOOLS)
	packaging/test-deb.sh

clean:
	rm -rf .build .build-fuzz
