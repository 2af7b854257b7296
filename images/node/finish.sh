#!/bin/sh
# Runs inside `docker build` (see Dockerfile): installs the packages BASE lacks, then the touches every
# node needs before lblab writes its own configuration into it.
set -eu

missing=
for package in $(sed -e 's/#.*//' /tmp/lblab/packages.txt); do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # one word per package
  apt-get install -y -q --no-install-recommends $missing
  apt-get clean
  rm -rf /var/lib/apt/lists/*
fi

# lblab renders each server's site itself; the default site would also claim port 80.
rm -f /etc/nginx/sites-enabled/default
# FRR's daemons and vtysh run as frr and must be able to read and save the configuration lblab writes.
chown -R frr:frr /etc/frr
