#!/usr/bin/env bash
# Installs the Debian packages tapwatch needs to build, test and run its demo.
# Idempotent: only missing packages are installed, so a prepared machine pays nothing.
set -euo pipefail

# libpcap-dev: `tapwatch pcap --filter` compiles tcpdump expressions with libpcap (cgo). It pulls in
# the runtime library, which is not named here because its package name differs between releases
# (libpcap0.8, libpcap0.8t64).
PKGS=(clang llvm libbpf-dev pkg-config iproute2 curl ncat python3 libvirt-dev libvirt0 libpcap-dev bpftool bc time tshark)
if [[ "${1:-}" == "--all" ]]; then
	# The libvirtd/QEMU end-to-end tests need the daemon and an emulator as well; the guest is
	# Debian's cloud kernel with a busybox initramfs (test/vm/build-guest.sh: xz for compressed
	# kernel modules).
	PKGS+=(libvirt-daemon-system qemu-system-x86 busybox-static cpio xz-utils)
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	exit 0
fi
if [[ $EUID -ne 0 ]]; then
	echo "install-deps: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
