#!/usr/bin/env bash
# Installs the Debian packages tapelab's tests, demo and benchmarks use.
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
pkgs=(fuse3 attr acl rsync git e2fsprogs dump amanda-server amanda-common libiscsi-bin tgt tshark sg3-utils mtx nmap gcc libc6-dev diffutils iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections || true
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
