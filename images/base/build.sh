#!/usr/bin/env bash
# Builds the lblab base root filesystem as a tarball from Debian's package mirrors alone, so lblab works
# where no container registry is reachable. `docker import` the result, then build images/node/Dockerfile
# on top of it.
#
# Usage: images/base/build.sh OUTPUT.tar
# Environment: LBLAB_APT_SOURCES=FILE  apt sources (one-line or deb822) to use instead of the host's.
set -euo pipefail

readonly suite=bookworm
output=${1:?usage: $0 OUTPUT.tar}
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v mmdebstrap >/dev/null; then
  echo "mmdebstrap is not installed: run 'apt-get install mmdebstrap' (or scripts/setup-host.sh)" >&2
  exit 127
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "images/base/build.sh must run as root (mmdebstrap --mode=root)" >&2
  exit 1
fi

packages=$(sed -e 's/#.*//' "$here/../packages.txt" | xargs)

# The host's own Debian sources for this suite: they name the mirror this machine is allowed to reach.
# Third-party repositories (and other releases) are left out, because the image must hold Debian only.
sources=()
if [ -n "${LBLAB_APT_SOURCES:-}" ]; then
  sources=("$LBLAB_APT_SOURCES")
else
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$file" ] || continue
    if grep -v '^[[:space:]]*#' "$file" | grep -Eq "https?://[^[:space:]]+/debian(-security)?/?([[:space:]]|$)" &&
      grep -v '^[[:space:]]*#' "$file" | grep -qw "$suite"; then
      sources+=("$file")
    fi
  done
fi
if [ ${#sources[@]} -eq 0 ]; then
  echo "no Debian $suite apt sources found on the host; using mmdebstrap's default (deb.debian.org)" >&2
else
  echo "apt sources: ${sources[*]}" >&2
fi

# minbase is what debian:bookworm-slim is made of: essential packages plus apt. The dpkg path filters
# stay in the image, so packages installed later are slim too. mmdebstrap's own cleanup step already
# removes apt lists, apt caches and logs; hostname and resolv.conf are the host's and Docker provides both.
mmdebstrap \
  --mode=root \
  --variant=minbase \
  --format=tar \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='rm -f "$1"/etc/hostname "$1"/etc/resolv.conf' \
  "$suite" "$output" "${sources[@]}"
