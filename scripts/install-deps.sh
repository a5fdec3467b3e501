#!/usr/bin/env bash
# Installs the Debian packages nsaudit's build and tests need, if any is missing.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "nsaudit: missing packages: ${missing[*]}; install them (as root: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "nsaudit: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
