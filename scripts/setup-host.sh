#!/usr/bin/env bash
# Prepares a fresh Debian bookworm machine, as root, to run lblab: installs the host packages that are
# missing and starts a Docker engine when none answers. Idempotent, so CI can run it before every job.
# dockerd is started directly, not with systemctl, because CI VMs may not run systemd as PID 1.
# With --tests it also installs what the test suite needs beyond that: Debian's headless Chromium
# (the e2e tests open lblab's SVG and HTML pictures in it) and a font for it to draw text with.
set -euo pipefail

packages=(docker.io mmdebstrap nftables iproute2 user-mode-linux curl)
for argument in "$@"; do
  case "$argument" in
    --tests) packages+=(chromium fonts-dejavu-core) ;;
    *)
      echo "usage: setup-host.sh [--tests]" >&2
      exit 2
      ;;
  esac
done
readonly packages
readonly dockerd_log=/var/log/lblab-dockerd.log
readonly engine_wait_seconds=30

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host.sh must run as root" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "packages: all present (${packages[*]})"
else
  echo "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_answers() { docker info >/dev/null 2>&1; }

if engine_answers; then
  echo "docker engine: already answering"
  exit 0
fi

# Without systemd nothing may have mounted the cgroup filesystem that dockerd needs.
if ! mountpoint -q /sys/fs/cgroup; then
  echo "cgroups: mounting cgroup2 on /sys/fs/cgroup"
  mount -t cgroup2 none /sys/fs/cgroup
fi

echo "docker engine: starting dockerd, logging to $dockerd_log"
# setsid keeps dockerd alive when the shell or CI step that ran this script ends.
setsid nohup dockerd >>"$dockerd_log" 2>&1 </dev/null &
for ((waited = 1; waited <= engine_wait_seconds; waited++)); do
  sleep 1
  if engine_answers; then
    echo "docker engine: answering after ${waited} s"
    exit 0
  fi
done
echo "docker engine: dockerd did not answer within ${engine_wait_seconds} s; last lines of $dockerd_log:" >&2
tail -n 20 "$dockerd_log" >&2
exit 1
