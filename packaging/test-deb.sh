#!/usr/bin/env bash
# test-deb.sh — the package on this machine, as an operator would use it (.ci/run runs it):
#   1. builds it (packaging/build-deb.sh: static binary, man pages, lintian, size)
#   2. installs its dependencies with apt-get, man-db and systemd for the checks below
#   3. lists the files under /usr /etc /lib /var (caches, logs and apt/dpkg state aside)
#   4. dpkg -i; checks the binary (no Swift runtime loaded, --version with the commit), runs
#      `/usr/bin/nsaudit report --fail-on never` with a clean environment (env -i), reads
#      `man nsaudit` and a subcommand's page, `systemd-analyze verify` on the installed units,
#      and that nothing was enabled (no timer link, no /etc/cron.d/nsaudit)
#   5. dpkg --purge, lists the files again: nothing may remain but /var/lib/nsaudit, and that
#      only when it holds files the package did not install (reports: dpkg keeps them)
#
# Usage: packaging/test-deb.sh [--deb FILE]
#   --deb FILE   test this package instead of building one
# Needs root. Refuses to run when nsaudit is already installed as a package (it would be
# replaced and purged).
set -euo pipefail

DEB=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --deb) DEB="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-deb: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $EUID -eq 0 ]] || { echo "test-deb: needs root (dpkg -i)" >&2; exit 2; }
if dpkg-query -W -f='${Status}' nsaudit 2>/dev/null | grep -q 'install ok installed'; then
    echo "test-deb: nsaudit is installed as a package here; this test installs and purges it: remove it first (dpkg --purge nsaudit)" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/nsaudit-test-deb.XXXXXX)
installed=0
cleanup() {
    local rc=$?
    if [[ $installed == 1 ]]; then dpkg --purge nsaudit > /dev/null 2>&1 || true; fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
log() { printf 'test-deb: %s\n' "$*" >&2; }
fail() { printf 'test-deb: FAIL: %s\n' "$*" >&2; exit 1; }

if [[ -z "$DEB" ]]; then
    DEB=$("$ROOT/packaging/build-deb.sh" --output-dir "$WORK")
fi
[[ -r "$DEB" ]] || fail "no package at $DEB"

# Dependencies from the package's own Depends (name only), and the tools the checks use.
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed -e 's/([^)]*)//' -e 's/|.*//' -e 's/ //g' | grep -v '^$')
log "installing dependencies: $(echo $deps) man-db systemd"
bash "$ROOT/scripts/install-deps.sh" $deps man-db systemd

# Sensible directories: what a package installs into, not what changes on its own.
listing() {
    find /usr /etc /lib /var /opt -xdev \
        \( -path /var/cache -o -path /var/log -o -path /var/tmp -o -path /var/lib/dpkg -o -path /var/lib/apt \
           -o -path /var/lib/systemd -o -path /var/mail -o -path /var/spool -o -path /var/backups \
           -o -path /etc/ld.so.cache \) -prune -o -print 2>/dev/null | LC_ALL=C sort
}
listing > "$WORK/before"

log "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB" >&2
installed=1

[[ -x /usr/bin/nsaudit ]] || fail "/usr/bin/nsaudit is missing"
if ldd /usr/bin/nsaudit | grep -E 'libswift|libFoundation'; then fail "/usr/bin/nsaudit loads the Swift runtime"; fi
version=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/nsaudit --version)
[[ "$version" =~ ^[0-9][^\ ]*\ \(commit\ [0-9a-f]{12}(-dirty)?\)$ ]] || fail "nsaudit --version says '$version' (no commit)"
log "nsaudit --version: $version"

log "nsaudit report --fail-on never, clean environment"
rc=0
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/nsaudit report --fail-on never --format text \
    > "$WORK/report.txt" 2> "$WORK/report.err" || rc=$?
(( rc == 0 )) || { cat "$WORK/report.err" >&2; fail "nsaudit report exited $rc"; }
grep -q 'namespace' "$WORK/report.txt" || { cat "$WORK/report.txt" >&2; fail "the report does not look like one"; }
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/nsaudit report --fail-on never --no-kernel-check \
    -o "json:$WORK/report.json" -o "prometheus:$WORK/report.prom" > "$WORK/stdout" 2>&1 || fail "nsaudit report -o json -o prometheus failed"
grep -q "\"generator\" *: *\"nsaudit $version\"" "$WORK/report.json" || fail "the report's generator is not 'nsaudit $version'"
grep -q '^nsaudit_findings_by_severity' "$WORK/report.prom" || fail "no metrics in the Prometheus output"

log "man pages"
for page in nsaudit nsaudit.report nsaudit.snapshot nsaudit.route-get nsaudit.capture; do
    MANPAGER=cat MANWIDTH=80 man "$page" > "$WORK/man.txt" 2> "$WORK/man.err" || { cat "$WORK/man.err" >&2; fail "man $page"; }
    grep -q 'NAME' "$WORK/man.txt" || fail "man $page has no NAME section"
done
MANPAGER=cat man nsaudit | grep -q 'asymmetric routing' || fail "man nsaudit does not describe nsaudit"

log "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/nsaudit.service /lib/systemd/system/nsaudit.timer 2> "$WORK/verify.err" ||
    { cat "$WORK/verify.err" >&2; fail "systemd-analyze verify"; }
[[ ! -s "$WORK/verify.err" ]] || { cat "$WORK/verify.err" >&2; fail "systemd-analyze verify warned"; }
[[ ! -e /etc/systemd/system/timers.target.wants/nsaudit.timer ]] || fail "the package enabled nsaudit.timer"
[[ ! -e /etc/cron.d/nsaudit ]] || fail "the package enabled the cron job"
[[ -f /usr/share/nsaudit/nsaudit.cron ]] || fail "no /usr/share/nsaudit/nsaudit.cron"
for f in /usr/share/bash-completion/completions/nsaudit /usr/share/zsh/vendor-completions/_nsaudit \
         /usr/share/fish/vendor_completions.d/nsaudit.fish /usr/share/doc/nsaudit/copyright \
         /usr/share/doc/nsaudit/changelog.gz; do
    [[ -s "$f" ]] || fail "$f is missing"
done
[[ -d /var/lib/nsaudit ]] || fail "no /var/lib/nsaudit"

log "dpkg --purge nsaudit"
dpkg --purge nsaudit >&2
installed=0
listing > "$WORK/after"
left=$(comm -13 "$WORK/before" "$WORK/after")
gone=$(comm -23 "$WORK/before" "$WORK/after")
# man-db rebuilds its index in /var/cache (pruned); nothing else may change.
if [[ -n "$left" ]]; then echo "$left" >&2; fail "the purged package left the files above"; fi
if [[ -n "$gone" ]]; then echo "$gone" >&2; fail "installing and purging removed the files above"; fi
log "ok: installed, ran, verified and purged $(basename "$DEB") ($(stat -c %s "$DEB") bytes); nothing left"
