#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Install what building and testing kubuf needs, from Debian's packages:
# compilers, QEMU, busybox for the guest, and the kernels (images and
# headers) of every lane of tests/vm/kernels.conf. Installs only what is
# missing, so a second run costs nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential cpio gzip kmod qemu-system-x86 busybox-static)
while read -r lane image headers _; do
	case "$lane" in ''|'#'*) continue ;; esac
	# build:NAME is a kernel built here (scripts/build-debug-kernel.sh
	# installs what it needs), not a package.
	case "$image" in build:*) continue ;; esac
	pkgs+=("$image" "$headers")
done < "$here/tests/vm/kernels.conf"
pkgs+=("$@")

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Deduplicate, keeping the order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo > /dev/null || {
		echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=sudo
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
