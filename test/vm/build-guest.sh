#!/usr/bin/env bash
# Builds the e2e test guest: Debian's cloud kernel and a busybox-static initramfs whose /init loads
# the virtio modules, configures eth0 statically and runs guestsend (UDP marker datagrams to the
# test's peer every 0.5 s; a DNS query and an HTTP request to it every 2 s). Cached under $CACHE
# (default /var/cache/tapwatch-test), keyed by the kernel version and a hash of everything that
# goes into the initramfs, so a rerun costs ~nothing and any change to guestsend rebuilds it.
#
# Usage: build-guest.sh            prints two lines: KERNEL=/path and INITRD=/path
# Env:   CACHE, KVER (default: what linux-image-cloud-amd64 depends on), GO (default: go)
# Needs: root is not required; apt-get download, dpkg-deb, busybox-static, cpio, gzip, go.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CACHE:-/var/cache/tapwatch-test}
GO=${GO:-go}
command -v "$GO" >/dev/null || GO=/usr/local/go/bin/go
mkdir -p "$CACHE"

# Serialise concurrent builds (two test runs, or a test and a manual run).
exec 9>"$CACHE/.build.lock"
flock 9

if [[ -z ${KVER:-} ]]; then
	# The cloud meta-package depends on the current ABI, e.g. linux-image-6.1.0-56-cloud-amd64.
	KVER=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(.*-cloud-amd64\)$/\1/p' | head -1)
	if [[ -z $KVER ]]; then
		# Fall back to a kernel already in the cache (offline rerun).
		KVER=$(ls -d "$CACHE"/kernel-*/ 2>/dev/null | sed 's#.*/kernel-\(.*\)/$#\1#' | sort -V | tail -1)
	fi
	[[ -n $KVER ]] || { echo "build-guest: cannot find a linux-image-*-cloud-amd64 (apt-get update?)" >&2; exit 1; }
fi

# 1. The kernel package, unpacked once per version.
KDIR=$CACHE/kernel-$KVER
if [[ ! -f $KDIR/.done ]]; then
	rm -rf "$KDIR"
	mkdir -p "$KDIR/deb" "$KDIR/root"
	echo "build-guest: downloading linux-image-$KVER" >&2
	chown _apt "$KDIR/deb" 2>/dev/null || true
	(cd "$KDIR/deb" && apt-get download -q "linux-image-$KVER" >&2) ||
		{ apt-get update -qq >&2 && (cd "$KDIR/deb" && apt-get download -q "linux-image-$KVER" >&2); }
	# Only the kernel and the few modules the guest loads (dpkg -x of the whole package: ~2 min).
	dpkg-deb --fsys-tarfile "$KDIR"/deb/linux-image-*.deb |
		tar -x -C "$KDIR/root" --wildcards --no-anchored '*/vmlinuz-*' '*virtio*' '*failover*' '*/modules.builtin'
	rm -rf "$KDIR/deb"
	touch "$KDIR/.done"
fi
VMLINUZ=$(ls "$KDIR"/root/boot/vmlinuz-* | head -1)
MODDIR=$KDIR/root/lib/modules/$KVER
[[ -d $MODDIR ]] || MODDIR=$KDIR/root/usr/lib/modules/$KVER

# 2. The initramfs, keyed by kernel, busybox, init (this script), the Go toolchain and every file
# of guestsend's package (its name and content: a file added, changed or removed makes a new key),
# so a changed sender is never served from a stale cached image.
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
BUSYBOX=$(command -v busybox)
KEY=$( {
	echo "$KVER $MODS"
	"$GO" version
	sha256sum "$BUSYBOX" "$HERE/build-guest.sh" "$ROOT/go.mod"
	(cd "$HERE" && find guestsend -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-16)
OUT=$CACHE/guest-$KVER-$KEY
if [[ ! -f $OUT/.done ]]; then
	rm -rf "$OUT"
	STAGE=$(mktemp -d "$CACHE/.stage.XXXXXX")
	trap 'rm -rf "$STAGE"' EXIT
	R=$STAGE/root
	mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,run,lib/modules}
	cp "$BUSYBOX" "$R/bin/busybox"
	for m in $MODS; do
		f=$(find "$MODDIR" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -1)
		if [[ -z $f ]]; then
			# Built into this kernel: nothing to load.
			grep -q "/$m.ko" "$MODDIR/modules.builtin" 2>/dev/null || echo "build-guest: warning: module $m not found" >&2
			continue
		fi
		case $f in
		*.xz) xz -dc "$f" >"$R/lib/modules/$m.ko" ;;
		*.zst) zstd -dcq "$f" >"$R/lib/modules/$m.ko" ;;
		*.gz) gzip -dc "$f" >"$R/lib/modules/$m.ko" ;;
		*) cp "$f" "$R/lib/modules/$m.ko" ;;
		esac
	done
	(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w' -o "$R/bin/guestsend" ./test/vm/guestsend)
	cat >"$R/init" <<INIT
#!/bin/busybox sh
# tapwatch e2e guest. Kernel command line: tw.ip=ADDR/LEN tw.peer=ADDR:PORT [tw.every=500ms]
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $MODS; do
	[ -f /lib/modules/\$m.ko ] && insmod /lib/modules/\$m.ko
done
ip=; peer=; every=500ms
for a in \$(cat /proc/cmdline); do
	case \$a in
	tw.ip=*) ip=\${a#tw.ip=} ;;
	tw.peer=*) peer=\${a#tw.peer=} ;;
	tw.every=*) every=\${a#tw.every=} ;;
	esac
done
ip link set lo up
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i+1)); done
ip addr add "\$ip" dev eth0
ip link set eth0 up
echo "TWQ-GUEST-UP ip=\$ip peer=\$peer \$(uname -r)"
while :; do
	/bin/guestsend -peer "\$peer" -every "\$every"
	sleep 1
done
INIT
	chmod 755 "$R/init"
	mkdir -p "$STAGE/out"
	cp "$VMLINUZ" "$STAGE/out/vmlinuz"
	(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$STAGE/out/initrd.gz"
	chmod 644 "$STAGE/out/vmlinuz" "$STAGE/out/initrd.gz"
	mv "$STAGE/out" "$OUT"
	touch "$OUT/.done"
	echo "build-guest: built $OUT" >&2
fi
chmod 755 "$CACHE" "$OUT"
echo "KERNEL=$OUT/vmlinuz"
echo "INITRD=$OUT/initrd.gz"
