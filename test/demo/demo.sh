#!/usr/bin/env bash
# make demo: a small KVM-like host in network namespaces (bridge, uplink, VMs web/db/attacker listed
# in a libvirt test-driver file), tapwatchd attached to it, real clients and real attacks, and the
# alerts as they arrive with the VM each belongs to. Nothing leaves the lab's namespaces.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/bin
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
WORK=$(mktemp -d /tmp/tapwatch-demo.XXXXXX)
SOCK=$WORK/tapwatch.sock
export TAPWATCH_SOCKET=$SOCK

if [[ $EUID -ne 0 ]]; then
	echo "make demo needs root: it creates network namespaces, a bridge and eBPF hooks (sudo make demo)" >&2
	exit 1
fi

DAEMON=
FOLLOW=
cleanup() {
	set +e
	[[ -n $FOLLOW ]] && kill "$FOLLOW" 2>/dev/null
	if [[ -n $DAEMON ]]; then
		kill "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	"$BIN/tapwatch" lab down >/dev/null
	rm -rf "$WORK" /sys/fs/bpf/tapwatch-demo
	echo "== lab torn down"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "building the lab: bridge twbr0 (no address), VMs web, db, attacker, uplink to tw-inet"
"$BIN/tapwatch" lab up

RULES="    - $ROOT/deploy/rules/tapwatch.rules"
if [[ -d $CORPUS/rules/et-open ]]; then
	RULES+=$'\n'"    - $CORPUS/rules/et-open/emerging-web_server.rules"
	RULES+=$'\n'"    - $CORPUS/rules/et-open/emerging-scan.rules"
	RULES+=$'\n'"    - $CORPUS/rules/et-open/emerging-exploit.rules"
fi
cat >"$WORK/tapwatch.yaml" <<YAML
host: demo-host
libvirt:
  uri: test:///run/tapwatch-lab/libvirt.xml
rules:
  files:
$RULES
  address-groups:
    HOME_NET: "[10.77.0.0/24]"
    EXTERNAL_NET: "!\$HOME_NET"
capture:
  bpffs: /sys/fs/bpf/tapwatch-demo
  hook-mode: tcx
  bridges: [twbr0]
outputs:
  eve:
    path: $WORK/eve.json
flows:
  store: $WORK/flows.db
record:
  dir: $WORK/pcap
  mode: alerts
control:
  socket: $SOCK
  group: ""
YAML

# start_daemon starts tapwatchd and waits until the three VM taps and the uplink are hooked.
start_daemon() {
	"$BIN/tapwatchd" --config "$WORK/tapwatch.yaml" --detach-on-exit 2>>"$WORK/tapwatchd.log" &
	DAEMON=$!
	for _ in $(seq 1 150); do
		if "$BIN/tapwatch" status >"$WORK/status.txt" 2>/dev/null && [[ $(grep -c -- '-ingress\|-egress' "$WORK/status.txt") -ge 8 ]]; then
			return
		fi
		if ! kill -0 "$DAEMON" 2>/dev/null; then
			echo "tapwatchd exited:" >&2
			cat "$WORK/tapwatchd.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}

step "starting tapwatchd (libvirt test:///run/tapwatch-lab/libvirt.xml, default + ET Open rules)"
start_daemon
cat "$WORK/status.txt"
grep 'hook attached' "$WORK/tapwatchd.log" | sed -e 's/^.*msg=/  /' | head -20 || true

step "alerts as they arrive (tapwatch alerts -f)"
# FOLLOW is tapwatch's own pid (not the pipeline's last command), so stopping it ends the follower.
"$BIN/tapwatch" alerts -f > >(tee "$WORK/alerts.txt" | sed -u -e 's/^/  ALERT /') &
FOLLOW=$!
sleep 0.5

step "driving traffic inside the lab (tapwatch lab traffic)"
"$BIN/tapwatch" lab traffic 2>&1 | sed -e 's/^/  /'
sleep 2

step "tapwatch vms"
"$BIN/tapwatch" vms

step "the packets of the path traversal alert (tapwatch pcap --alert), replayed offline"
ALERT_ID=$(grep -m1 '"signature_id":9900010' "$WORK/eve.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["alert_id"])' || true)
if [[ -n $ALERT_ID ]]; then
	"$BIN/tapwatch" pcap --alert "$ALERT_ID" -w "$WORK/traversal.pcapng"
	"$BIN/tapwatch" replay --no-progress -r "$WORK/traversal.pcapng" -S "$ROOT/deploy/rules/tapwatch.rules" \
		--set vars.address-groups.HOME_NET=10.77.0.0/24 -l "$WORK/replay" | grep -E '^(packets|alerts):|\[1:99' | sed -e 's/^/  /'
fi

step "the MACs attacker sent from, beside the one libvirt gave it (tapwatch vms show attacker)"
"$BIN/tapwatch" vms show attacker >"$WORK/show-attacker.txt" 2>/dev/null || true
grep -E '^VM|libvirt NIC|sent from MAC' "$WORK/show-attacker.txt" | sed -e 's/^/  /'

step "what each VM really is (tapwatch vms show web, db): services, peers and the names their flows carried"
# Flows reach the flow store when they end (idle timeout, or at exit); the lab's are still open,
# so tapwatchd is stopped, which writes them, and started again on the same store.
kill "$FOLLOW" 2>/dev/null
wait "$FOLLOW" 2>/dev/null || true
FOLLOW=
kill "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
DAEMON=
start_daemon
for vm in web db; do
	for _ in $(seq 1 50); do
		"$BIN/tapwatch" vms show "$vm" >"$WORK/show-$vm.txt" 2>/dev/null && break
		sleep 0.2
	done
	sed -e 's/^/  /' "$WORK/show-$vm.txt"
done

step "what was detected"
fail=0
expect() { # sid vm what
	if grep -q "\[$1:" "$WORK/alerts.txt" && grep "\[$1:" "$WORK/alerts.txt" | grep -q "$2("; then
		printf '  \033[32mOK\033[0m    %-44s sid %-8s attributed to %s\n' "$3" "$1" "$2"
	else
		printf '  \033[31mMISS\033[0m  %-44s sid %-8s expected from %s\n' "$3" "$1" "$2"
		fail=1
	fi
}
expect 9900001 attacker "TCP SYN port scan attacker -> db"
expect 9900010 attacker "HTTP path traversal attacker -> web"
expect 9900013 attacker "shellshock attempt attacker -> web"
expect 9900020 attacker "DNS query for the C2 domain"
expect 9901001 attacker "MAC spoofing by attacker"
expect 9901002 attacker "ARP spoofing of db's address by attacker"
seen() { # vm text what
	if grep -qF -- "$2" "$WORK/show-$1.txt"; then
		printf '  \033[32mOK\033[0m    %-44s in tapwatch vms show %s\n' "$3" "$1"
	else
		printf '  \033[31mMISS\033[0m  %-44s not in tapwatch vms show %s (%s)\n' "$3" "$1" "$2"
		fail=1
	fi
}
seen attacker "sent from MAC 52:54:00:de:ad:01" "the MAC attacker spoofed"
seen web "server: SimpleHTTP/" "web's HTTP Server header"
seen web "tls: web.lab.example" "web's TLS certificate name"
seen web "ssh: SSH-2.0-tapwatchlab_1.0" "web's SSH identification line"
seen db "ua: curl/" "the user agent db sent"
seen db "sni: web.lab.example" "the TLS name db asked for"
seen db "dns: web.lab.example" "the DNS name db resolved"
echo
echo "  $(wc -l <"$WORK/alerts.txt") alerts in total. One of them as EVE JSON (Suricata's schema plus \"vm\"):"
grep -m1 '"signature_id":9900010' "$WORK/eve.json" | python3 -m json.tool | sed -e 's/^/    /' || true
exit $fail
