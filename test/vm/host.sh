#!/usr/bin/env bash
# Host side of the libvirt/QEMU e2e test (test/e2e/qemu): libvirt daemons, an isolated bridge and
# a peer namespace. Everything it starts or creates is recorded under STATE so `down` removes
# exactly that and nothing else.
#
#   host.sh up STATE        virtlogd + libvirtd (unless one already answers on qemu:///system),
#                           bridge twqbr0 (no address), veth twqv0 <-> twqv1 in netns twqpeer with
#                           PEER_ADDR, and a UDP listener there logging what reaches the peer
#   host.sh dst-up STATE    a second virtlogd + libvirtd in their own mount namespace (own
#                           /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt,
#                           /etc/libvirt with its own host_uuid); prints DST_URI=...
#   host.sh down STATE      destroys the test domains, stops what up/dst-up started, deletes links
#
# Env: BRIDGE (twqbr0), NETNS (twqpeer), PEER_ADDR (10.99.0.1/24), PEER_PORT (5599), DOMAIN (twq-guest)
# Network safety: the bridge and the root end of the veth get no address (IPv4 or IPv6), IP
# forwarding is not touched, libvirt's default NAT network is never started (its autostart link is
# removed before libvirtd starts).
set -euo pipefail

CMD=${1:?usage: host.sh up|dst-up|down STATE}
STATE=${2:?usage: host.sh up|dst-up|down STATE}
BRIDGE=${BRIDGE:-twqbr0}
NETNS=${NETNS:-twqpeer}
PEER_ADDR=${PEER_ADDR:-10.99.0.1/24}
PEER_PORT=${PEER_PORT:-5599}
DOMAIN=${DOMAIN:-twq-guest}
VETH_ROOT=${BRIDGE%br0}v0
VETH_PEER=${BRIDGE%br0}v1
mkdir -p "$STATE"
chmod 755 "$STATE"

log() { echo "host.sh: $*" >&2; }

wait_uri() { # uri seconds
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		virsh -q -c "$1" uri >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

stop_pid() { # pid [name]: TERM, wait up to 10 s, then KILL
	local pid=$1 i
	pid_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.2
	done
	log "${2:-$pid} did not stop on TERM; killing"
	kill -KILL "$pid" 2>/dev/null || true
}

no_default_autostart() {
	# Debian's libvirt autostarts a NAT network (virbr0, dnsmasq, iptables): never let it start.
	local l
	for l in /etc/libvirt/qemu/networks/autostart/default.xml "$@"; do
		if [[ -e $l || -L $l ]]; then
			rm -f "$l"
			log "removed $l"
		fi
	done
}

# /dev/kvm here may be root-only (no udev). libvirt probes QEMU as root (KVM works) but checks its
# capability cache as the QEMU user (KVM unusable): the cache never validates and every define,
# start or capabilities lookup re-probes QEMU twice (~4 s each; a `virsh define` took 44 s). Give
# /dev/kvm Debian's udev mode (root:kvm 0660) for the test; down restores what it was.
kvm_perms() {
	[[ -c /dev/kvm ]] && getent group kvm >/dev/null || return 0
	[[ -f $STATE/kvm-perms ]] && return 0
	local cur
	cur=$(stat -c '%U:%G %a' /dev/kvm)
	[[ $cur == "root:kvm 660" ]] && return 0
	echo "$cur" >"$STATE/kvm-perms"
	chown root:kvm /dev/kvm
	chmod 0660 /dev/kvm
	log "/dev/kvm was $cur; now root:kvm 660 (restored by down)"
}

kvm_perms_restore() {
	[[ -f $STATE/kvm-perms ]] || return 0
	local owner mode
	read -r owner mode <"$STATE/kvm-perms"
	chown "$owner" /dev/kvm && chmod "$mode" /dev/kvm && rm -f "$STATE/kvm-perms"
}

up() {
	kvm_perms
	# 1. libvirt, unless a libvirtd already serves qemu:///system (then it is not ours to stop).
	if virsh -q -c qemu:///system uri >/dev/null 2>&1; then
		log "libvirtd already running; using it"
	else
		no_default_autostart
		[[ -d /run/libvirt ]] || touch "$STATE/run-libvirt-created"
		# libvirtd creates a "machine" cgroup per controller; down removes the ones it made.
		ls -d /sys/fs/cgroup/machine /sys/fs/cgroup/*/machine 2>/dev/null >"$STATE/cgroups-before" || true
		if [[ ! -S /run/libvirt/virtlogd-sock ]] || ! pid_alive "$(cat /run/virtlogd.pid 2>/dev/null)"; then
			virtlogd -d
			cat /run/virtlogd.pid >"$STATE/virtlogd.pid"
		fi
		# Warnings and errors go to the test's state directory (libvirtd -d has no stderr).
		LIBVIRT_LOG_OUTPUTS="3:file:$STATE/libvirtd.log" libvirtd -d
		wait_uri qemu:///system 30 || { log "libvirtd does not answer on qemu:///system"; exit 1; }
		cat /run/libvirtd.pid >"$STATE/libvirtd.pid"
	fi

	# 2. The isolated bridge and the peer namespace.
	ip link del "$BRIDGE" 2>/dev/null || true
	ip link del "$VETH_ROOT" 2>/dev/null || true
	ip netns del "$NETNS" 2>/dev/null || true
	ip link add "$BRIDGE" type bridge forward_delay 0 stp_state 0
	sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1"
	ip link set "$BRIDGE" up
	ip netns add "$NETNS"
	ip link add "$VETH_ROOT" type veth peer name "$VETH_PEER" netns "$NETNS"
	sysctl -qw "net.ipv6.conf.$VETH_ROOT.disable_ipv6=1"
	ip link set "$VETH_ROOT" master "$BRIDGE" up
	ip netns exec "$NETNS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$NETNS" link set lo up
	ip -n "$NETNS" addr add "$PEER_ADDR" dev "$VETH_PEER"
	ip -n "$NETNS" link set "$VETH_PEER" up
	touch "$STATE/net"

	# 3. What reaches the peer, one line per datagram: "<unix time> <source port> <payload>".
	ip netns exec "$NETNS" python3 -u -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    print("%.3f %d %s" % (time.time(), addr[1], data.decode(errors="replace").strip()), flush=True)
' "$PEER_PORT" >"$STATE/peer.log" 2>&1 &
	echo $! >"$STATE/listener.pid"
	log "up: bridge $BRIDGE, netns $NETNS ${PEER_ADDR%/*}:$PEER_PORT"
}

dst_up() {
	local d=$STATE/dst
	if pid_alive "$(cat "$STATE/dst-libvirtd.pid" 2>/dev/null)"; then
		echo "DST_URI=qemu+unix:///system?socket=$d/run/libvirt-sock"
		return
	fi
	rm -rf "$d"
	mkdir -p "$d"/{run,lib,cache,log,etc}
	cp -a /etc/libvirt/. "$d/etc/"
	rm -f "$d"/etc/qemu/*.xml
	no_default_autostart "$d"/etc/qemu/networks/autostart/*.xml
	echo "host_uuid = \"$(cat /proc/sys/kernel/random/uuid)\"" >>"$d/etc/libvirtd.conf"
	chmod 755 "$d" "$d"/{run,lib,cache,log}
	# The daemon and its virtlogd see only their own libvirt directories; QEMU, /dev and the
	# network are shared, so the two "hosts" can live-migrate over 127.0.0.1.
	unshare -m --propagation private sh -c '
		set -e
		d=$1
		mount --bind "$d/run" /run/libvirt
		mount --bind "$d/lib" /var/lib/libvirt
		mount --bind "$d/cache" /var/cache/libvirt
		mount --bind "$d/log" /var/log/libvirt
		mount --bind "$d/etc" /etc/libvirt
		virtlogd -d -p /run/libvirt/twq-virtlogd.pid
		LIBVIRT_LOG_OUTPUTS="3:stderr" exec libvirtd -p /run/libvirt/twq-libvirtd.pid
	' sh "$d" >"$STATE/dst-libvirtd.log" 2>&1 &
	echo $! >"$STATE/dst-libvirtd.pid"
	local uri="qemu+unix:///system?socket=$d/run/libvirt-sock"
	wait_uri "$uri" 30 || {
		log "second libvirtd does not answer on $uri"
		cat "$STATE/dst-libvirtd.log" >&2
		exit 1
	}
	echo "DST_URI=$uri"
}

down() {
	local rc=0 pid uri
	# Domains first: QEMU outlives libvirtd.
	local dsturi="qemu+unix:///system?socket=$STATE/dst/run/libvirt-sock"
	for uri in qemu:///system "$dsturi"; do
		if timeout 10 virsh -q -c "$uri" uri >/dev/null 2>&1; then
			timeout 30 virsh -q -c "$uri" destroy "$DOMAIN" >/dev/null 2>&1 || true
			timeout 30 virsh -q -c "$uri" undefine "$DOMAIN" >/dev/null 2>&1 || true
		fi
	done
	# A QEMU left behind by a libvirtd that died: its pid file names it.
	for f in /run/libvirt/qemu/"$DOMAIN".pid "$STATE"/dst/run/qemu/"$DOMAIN".pid; do
		pid=$(cat "$f" 2>/dev/null) || continue
		if pid_alive "$pid" && grep -q "guest=$DOMAIN" "/proc/$pid/cmdline" 2>/dev/null; then
			log "killing leftover QEMU $pid ($f)"
			stop_pid "$pid" qemu
		fi
	done
	# Second libvirtd and its virtlogd.
	if [[ -f $STATE/dst-libvirtd.pid ]]; then
		stop_pid "$(cat "$STATE/dst-libvirtd.pid")" "second libvirtd"
		stop_pid "$(cat "$STATE/dst/run/twq-virtlogd.pid" 2>/dev/null)" "second virtlogd"
		rm -f "$STATE/dst-libvirtd.pid"
	fi
	# First libvirtd and virtlogd, only if this script started them.
	for f in libvirtd virtlogd; do
		if [[ -f $STATE/$f.pid ]]; then
			stop_pid "$(cat "$STATE/$f.pid")" "$f"
			rm -f "$STATE/$f.pid"
		fi
	done
	if [[ -f $STATE/cgroups-before ]] && ! timeout 10 virsh -q -c qemu:///system uri >/dev/null 2>&1; then
		for d in /sys/fs/cgroup/machine /sys/fs/cgroup/*/machine; do
			[[ -d $d ]] && ! grep -qxF "$d" "$STATE/cgroups-before" && rmdir "$d" 2>/dev/null || true
		done
		rm -f "$STATE/cgroups-before"
	fi
	rm -f /var/log/libvirt/qemu/"$DOMAIN".log*
	kvm_perms_restore
	# A domain definition left behind when libvirtd could not undefine it (it is not running now,
	# unless it was not ours).
	if [[ -f $STATE/defined ]] && ! timeout 10 virsh -q -c qemu:///system uri >/dev/null 2>&1; then
		rm -f /etc/libvirt/qemu/"$DOMAIN".xml /etc/libvirt/qemu/autostart/"$DOMAIN".xml
	fi
	if [[ -f $STATE/run-libvirt-created ]] && ! timeout 10 virsh -q -c qemu:///system uri >/dev/null 2>&1; then
		rm -rf /run/libvirt
		rm -f "$STATE/run-libvirt-created"
	fi
	if [[ -f $STATE/listener.pid ]]; then
		stop_pid "$(cat "$STATE/listener.pid")" listener
		rm -f "$STATE/listener.pid"
	fi
	if [[ -f $STATE/net ]]; then
		ip link del "$BRIDGE" 2>/dev/null || true
		ip link del "$VETH_ROOT" 2>/dev/null || true
		ip netns del "$NETNS" 2>/dev/null || true
		rm -f "$STATE/net"
	fi
	return $rc
}

case $CMD in
up) up ;;
dst-up) dst_up ;;
down) down ;;
*)
	echo "usage: host.sh up|dst-up|down STATE" >&2
	exit 2
	;;
esac
