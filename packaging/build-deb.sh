#!/usr/bin/env bash
# build-deb.sh — builds nsaudit_<version>_<arch>.deb with dpkg-deb (`make deb` runs it).
#
#   1. Man pages from the argument parser: swift-argument-parser's generate-manual plugin
#      (`swift package plugin generate-manual`, offline: the plugin and its tool come with
#      the swift-argument-parser checkout), nsaudit(8) and one page per subcommand.
#   2. The binary: `swift build -c release --static-swift-stdlib` with NSAUDIT_GIT_COMMIT set
#      from git (what `nsaudit --version` and the reports' generator name); checked with ldd
#      to load no libswift*/libFoundation*.
#   3. Completions for bash, zsh and fish from the binary (--generate-completion-script).
#   4. A staging tree: /usr/bin/nsaudit (stripped), the systemd service and timer in
#      /lib/systemd/system and the cron file in /usr/share/nsaudit (installed, NOT enabled),
#      /var/lib/nsaudit, man pages, completions, copyright, changelog (gzip -9n), lintian
#      overrides; DEBIAN/control with Depends from dpkg-shlibdeps plus iproute2; md5sums.
#   5. dpkg-deb --root-owner-group --build, then lintian (unless --no-lintian) and the size
#      (issue 13: at most 15 MB, or the build fails; about 5.2 MB today).
#
# Usage: packaging/build-deb.sh [--output-dir DIR] [--no-lintian]
#   --output-dir DIR   where the .deb goes (default: the repository root)
#   --no-lintian       skip the lintian check (it is run by default and must pass)
#   SWIFT=path         the swift driver (default: swift)
#
# The version is NSAuditInfo.version (Sources/NSAuditCore/NSAuditInfo.swift); the first entry
# of packaging/debian/changelog must carry the same version, or the build stops. Without git
# (a tarball) the package is built and `--version` says the commit is unknown.
# Needs: the Swift toolchain, dpkg-dev (dpkg-shlibdeps), lintian (`make deb` installs them),
# and to build: libpcap-dev and libyaml-dev (`make deps`; libyaml is linked statically, so the
# package depends on libpcap and iproute2 only).
set -euo pipefail

OUTDIR=""
LINTIAN=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --output-dir) OUTDIR="$2"; shift 2 ;;
        --no-lintian) LINTIAN=0; shift ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-deb: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG="$ROOT/packaging"
OUTDIR=$(cd "${OUTDIR:-$ROOT}" && pwd)
SWIFT=${SWIFT:-swift}
# Issue 13: the package is at most 15 MB. It is about 5.2 MB (a 20 MB stripped binary)
# because the shipped modules use FoundationEssentials only: the whole of Foundation brings
# FoundationInternationalization and ICU's data (34 MB of the binary, 8.7 MB of a 16.2 MB
# package: docs/performance.md, "Package size"), which the build refuses below. Over 7 MB is
# a warning (something else grew: an unstripped binary, more of the runtime); over 15 MB fails.
WARN_BYTES=7000000
MAX_BYTES=15000000
log() { printf 'build-deb: %s\n' "$*" >&2; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps gzip strip nm ldd; do
    command -v "$tool" > /dev/null || die "$tool is missing (apt-get install -y dpkg-dev binutils)"
done

WORK=$(mktemp -d /tmp/nsaudit-deb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ version and commit
VERSION=$(sed -n 's/.*static let version = "\([^"]*\)".*/\1/p' "$ROOT/Sources/NSAuditCore/NSAuditInfo.swift")
[[ -n "$VERSION" ]] || die "no version in Sources/NSAuditCore/NSAuditInfo.swift"
CHANGELOG_VERSION=$(sed -n '1s/^nsaudit (\([^)]*\)).*/\1/p' "$PKG/debian/changelog")
[[ "$CHANGELOG_VERSION" == "$VERSION" ]] ||
    die "packaging/debian/changelog starts with version '$CHANGELOG_VERSION', nsaudit is $VERSION: add a changelog entry for $VERSION"
# The changelog's date is the package's date (man pages, file times): the same tree builds
# the same files.
CHANGELOG_DATE=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$PKG/debian/changelog" | head -1)
SOURCE_DATE_EPOCH=$(date -d "$CHANGELOG_DATE" +%s)
export SOURCE_DATE_EPOCH

if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
    NSAUDIT_GIT_COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD)
    if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]]; then
        NSAUDIT_GIT_COMMIT+="-dirty"
        log "the work tree has uncommitted changes: the version says $NSAUDIT_GIT_COMMIT"
    fi
    export NSAUDIT_GIT_COMMIT
else
    unset NSAUDIT_GIT_COMMIT
    log "not a git checkout: nsaudit --version will say the commit is unknown"
fi

ARCH=$(dpkg --print-architecture)
DEB="$OUTDIR/nsaudit_${VERSION}_${ARCH}.deb"

# ------------------------------------------------------------------ man pages
# The plugin builds every product and runs generate-manual on each argument-parser
# executable. It builds the debug configuration: the help text is the same, `make test` has
# already built it, and .build/release keeps the static binary below (a release build
# without --static-swift-stdlib would recompile every module there).
log "man pages (swift package plugin generate-manual)"
(cd "$ROOT" && "$SWIFT" package plugin generate-manual --configuration debug --multi-page --section 8 \
    --date "$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)" \
    --authors "nsaudit maintainers<maintainers@users.noreply.r-seed-e9411afa.example>" >&2)
MANDIR="$ROOT/.build/plugins/GenerateManual/outputs/nsaudit"
[[ -f "$MANDIR/nsaudit.8" ]] || die "generate-manual left no nsaudit.8 in $MANDIR"

# ------------------------------------------------------------------ the binary
log "building nsaudit (release, --static-swift-stdlib, commit ${NSAUDIT_GIT_COMMIT:-unknown})"
(cd "$ROOT" && "$SWIFT" build -c release --static-swift-stdlib --product nsaudit >&2)
BIN="$(cd "$ROOT" && "$SWIFT" build -c release --static-swift-stdlib --show-bin-path)/nsaudit"
[[ -x "$BIN" ]] || die "no binary at $BIN"
if ldd "$BIN" | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime'; then
    die "$BIN still loads the Swift runtime dynamically (above)"
fi
if nm "$BIN" | grep -m1 -E 'icudt[0-9]+_dat|FoundationInternationalization'; then
    die "$BIN links ICU (the whole of Foundation): a shipped module imports Foundation instead of FoundationEssentials?"
fi
if ldd "$BIN" | grep -E 'libyaml'; then
    die "$BIN loads libyaml dynamically (above): it is to be linked from libyaml.a (Package.swift)"
fi
VERSION_LINE=$("$BIN" --version)
[[ "$VERSION_LINE" == "$VERSION (commit ${NSAUDIT_GIT_COMMIT:-unknown})" ]] ||
    die "$BIN --version says '$VERSION_LINE', expected '$VERSION (commit ${NSAUDIT_GIT_COMMIT:-unknown})' (a stale build?)"

# ------------------------------------------------------------------ staging tree
STAGE="$WORK/root"
install -d -m 755 "$STAGE/DEBIAN" "$STAGE/usr/bin" "$STAGE/lib/systemd/system" \
    "$STAGE/usr/share/nsaudit" "$STAGE/var/lib/nsaudit" "$STAGE/usr/share/man/man8" \
    "$STAGE/usr/share/doc/nsaudit" "$STAGE/usr/share/bash-completion/completions" \
    "$STAGE/usr/share/zsh/vendor-completions" "$STAGE/usr/share/fish/vendor_completions.d" \
    "$STAGE/usr/share/lintian/overrides"
install -m 755 "$BIN" "$STAGE/usr/bin/nsaudit"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$STAGE/usr/bin/nsaudit"
"$STAGE/usr/bin/nsaudit" --version > /dev/null || die "the stripped binary does not run"

install -m 644 "$ROOT/contrib/nsaudit.service" "$ROOT/contrib/nsaudit.timer" "$STAGE/lib/systemd/system/"
install -m 644 "$ROOT/contrib/nsaudit.cron" "$STAGE/usr/share/nsaudit/nsaudit.cron"

# fix-manpage.awk: a NAME lexgrog (whatis) can read, blank lines as paragraph breaks.
for page in "$MANDIR"/*.8; do
    awk -f "$PKG/fix-manpage.awk" "$page" | gzip -9n > "$STAGE/usr/share/man/man8/$(basename "$page").gz"
done

# A completion file is sourced, not run: no #! line (lintian bash-completion-with-hashbang).
"$BIN" --generate-completion-script bash | sed '1{/^#!/d}' > "$STAGE/usr/share/bash-completion/completions/nsaudit"
"$BIN" --generate-completion-script zsh > "$STAGE/usr/share/zsh/vendor-completions/_nsaudit"
"$BIN" --generate-completion-script fish > "$STAGE/usr/share/fish/vendor_completions.d/nsaudit.fish"

install -m 644 "$PKG/debian/copyright" "$STAGE/usr/share/doc/nsaudit/copyright"
# A native package: the changelog is changelog.gz (Debian policy 12.7).
gzip -9n < "$PKG/debian/changelog" > "$STAGE/usr/share/doc/nsaudit/changelog.gz"
gzip -9n < "$ROOT/README.md" > "$STAGE/usr/share/doc/nsaudit/README.md.gz"
install -m 644 "$PKG/debian/nsaudit.lintian-overrides" "$STAGE/usr/share/lintian/overrides/nsaudit"

find "$STAGE" -type f -exec chmod go-w {} + -o -type d -exec chmod 755 {} +

# ------------------------------------------------------------------ control
# dpkg-shlibdeps wants a debian/control naming the package; it runs in a scratch copy.
mkdir -p "$WORK/src/debian"
printf 'Source: nsaudit\n\nPackage: nsaudit\nArchitecture: any\n' > "$WORK/src/debian/control"
SHLIBS=$(cd "$WORK/src" && dpkg-shlibdeps -O "$STAGE/usr/bin/nsaudit" 2>"$WORK/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') ||
    { cat "$WORK/shlibdeps.err" >&2; die "dpkg-shlibdeps failed"; }
[[ -n "$SHLIBS" ]] || die "dpkg-shlibdeps found no dependencies"
[[ "$SHLIBS" == *libpcap0.8* ]] || die "the binary does not link libpcap? (dpkg-shlibdeps: $SHLIBS)"
[[ "$SHLIBS" != *libyaml* ]] || die "the package would depend on libyaml (dpkg-shlibdeps: $SHLIBS)"
INSTALLED_KB=$(du -s -k --apparent-size "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_KB/" \
    -e "s/@SHLIBS_DEPENDS@/$SHLIBS/" "$PKG/debian/control.in" > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    xargs md5sum > DEBIAN/md5sums)
chmod 644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ------------------------------------------------------------------ build and check
dpkg-deb --root-owner-group -Zxz -z9 --build "$STAGE" "$DEB" >&2
SIZE=$(stat -c %s "$DEB")
(( SIZE <= MAX_BYTES )) || die "$DEB is $SIZE bytes, over the $MAX_BYTES-byte limit (issue 13)"
(( SIZE <= WARN_BYTES )) || log "warning: $DEB is $SIZE bytes, over $WARN_BYTES (about 5.2 MB expected): what grew?"
if [[ $LINTIAN == 1 ]]; then
    command -v lintian > /dev/null || die "lintian is missing (apt-get install -y lintian, or --no-lintian)"
    log "lintian"
    # --fail-on warning: an error or warning not explained by an override fails the build.
    lintian --fail-on error,warning "$DEB" >&2 || die "lintian found problems (above)"
fi
log "$(grep '^Depends:' "$STAGE/DEBIAN/control")"
log "built $DEB ($SIZE bytes; installs $INSTALLED_KB KiB)"
echo "$DEB"
