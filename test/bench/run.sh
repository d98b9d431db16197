#!/usr/bin/env bash
# make bench: the cost of detection and of the datapath, as ratios to a baseline measured in the
# same run (machines here are noisy; only interleaved comparisons mean anything).
#
#  1. replay throughput, one worker, over every Ethernet pcap of the corpus:
#     (a) no rules, (b) ET Open, (c) Snort 3 community — packets/s and Mbit/s per core of CPU
#     time, ratios b/a and c/a, rule load time and peak memory. Rounds are interleaved a,b,c,a,b,c.
#  2. Go benchmarks of the hot paths (decoder, matcher, EVE writer) and the eBPF datapath
#     (veth between namespaces: with/without the program; needs root).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
BIN=$ROOT/bin
ROUNDS=${ROUNDS:-3}
WORK=$(mktemp -d /tmp/tapwatch-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# The Ethernet captures, as links in a scratch directory (the corpus is never copied).
mkdir -p "$WORK/eth"
python3 - "$CORPUS/pcaps" "$WORK/eth" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
for f in json.load(open(os.path.join(src, "MANIFEST.json")))["files"]:
    if f.get("linktypes") == [1] and f.get("parse_status") == "ok":
        os.symlink(os.path.join(src, f["file"]), os.path.join(dst, f["file"].replace("/", "__")))
PY
echo "replay benchmark over $(ls "$WORK/eth" | wc -l) Ethernet pcaps, 1 worker, $ROUNDS interleaved rounds"

declare -A RULES=(
	[a_none]=""
	[b_etopen]="$CORPUS/rules/et-open"
	[c_snort3]="$CORPUS/rules/snort3-community/snort3-community.rules"
)
run() { # name -> prints "inspect_cpu_seconds peak_kib packets bytes load_seconds"
	local name=$1 args=()
	[[ -n ${RULES[$name]} ]] && args+=(-S "${RULES[$name]}")
	/usr/bin/time -f "%U %S %M" -o "$WORK/time" "$BIN/tapwatch" replay --workers 1 --no-progress \
		-r "$WORK/eth" "${args[@]}" -l "$WORK/out-$name" >"$WORK/summary-$name" 2>"$WORK/err-$name" || true
	read -r _ _ m <"$WORK/time"
	local pk by cpu load
	pk=$(awk '/^packets:/{print $2}' "$WORK/summary-$name")
	by=$(awk '/^bytes:/{print $2}' "$WORK/summary-$name")
	# CPU seconds spent after the rules were loaded: decode, flows, detection, EVE.
	cpu=$(awk '/^cpu:/{sub("s","",$2); print $2}' "$WORK/summary-$name")
	load=$(awk '/^rules:/{print $5}' "$WORK/summary-$name")
	echo "$cpu $m $pk $by $load"
}
declare -A BEST_CPU PEAK PKTS BYTES LOAD
for ((r = 1; r <= ROUNDS; r++)); do
	for name in a_none b_etopen c_snort3; do
		read -r cpu mem pk by load < <(run "$name")
		if [[ -z ${BEST_CPU[$name]:-} ]] || (($(echo "$cpu < ${BEST_CPU[$name]}" | bc -l))); then
			BEST_CPU[$name]=$cpu
		fi
		PEAK[$name]=$mem PKTS[$name]=$pk BYTES[$name]=$by LOAD[$name]=$load
	done
done

printf '\n%-10s %8s %10s %12s %10s %7s %13s\n' "rules" "loaded" "load time" "packets/s" "Mbit/s" "ratio" "peak RSS MiB"
base=$(echo "${PKTS[a_none]} / ${BEST_CPU[a_none]}" | bc -l)
for name in a_none b_etopen c_snort3; do
	pps=$(echo "${PKTS[$name]} / ${BEST_CPU[$name]}" | bc -l)
	mbps=$(echo "${BYTES[$name]} * 8 / ${BEST_CPU[$name]} / 1000000" | bc -l)
	printf '%-10s %8s %10s %12.0f %10.1f %7.2f %13.1f\n' "${name#*_}" "$(awk '/^rules:/{print $2}' "$WORK/summary-$name")" "${LOAD[$name]}" "$pps" "$mbps" "$(echo "$pps / $base" | bc -l)" "$(echo "${PEAK[$name]} / 1024" | bc -l)"
done
echo "(packets/s and Mbit/s per core: packets over the CPU seconds spent after rule load, best of $ROUNDS;"
echo " ratio = vs no rules in the same run; load time = parse + compile, wall clock)"
for name in b_etopen c_snort3; do
	grep -E '^alerts:' "$WORK/summary-$name" | sed -e "s/^/  ${name#*_} /" || true
done

echo
echo "== detection alone (no file reading, no output): corpus frames held in memory, rules vs none per CPU second"
(cd "$ROOT" && go test -run '^$' -bench 'BenchmarkEngine$' -benchtime 2x -count 1 ./rules/detect 2>&1 | grep -E '^(Benchmark|ok)') || true

echo
echo "== Go benchmarks: decoder, matcher, EVE writer"
cd "$ROOT"
go test -run '^$' -bench . -benchtime 1x -count 1 ./rules/decode ./agent/output/eve 2>&1 | grep -E '^(Benchmark|ok)' || true
go test -run '^$' -bench 'BenchmarkScan' -count 1 ./rules/mpm 2>&1 | grep -E '^(Benchmark|ok)' || true
if [[ $EUID -eq 0 ]]; then
	echo
	echo "== eBPF datapath: veth between namespaces, without and with the program (interleaved)"
	go test -run '^$' -bench . -count 1 ./vswitch 2>&1 | grep -E '^(Benchmark|ok)' || true
fi

echo
echo "== recording mode all vs off on the live pipeline (all/off: CPU-time packet rate ratio, aim >= 0.8; idx-bytes/pkt)"
go test -run '^$' -bench BenchmarkPipelineRecord -benchtime 300000x -count 1 ./agent/pipeline 2>&1 | grep -E '^(Benchmark|ok)' || true
TAPWATCH_BENCH_RULES="$CORPUS/rules/et-open" go test -run '^$' -bench BenchmarkPipelineRecord -benchtime 200000x -count 1 ./agent/pipeline 2>&1 | grep -E '^(Benchmark|ok)' || true
