#!/usr/bin/env bash
# HHEM speed on this machine (docs/bench.md has the figures and how to read them).
#
#   scripts/bench-hhem.sh [compare]   hallu's kernel paths against ONNX Runtime and PyTorch (make bench-hhem)
#   scripts/bench-hhem.sh run         `hallu score --scorer hhem` over leaderboard-like documents (make bench-hhem-run)
#   scripts/bench-hhem.sh long        one pair each of 2k–16k tokens: time and peak memory (make bench-hhem-long)
#
# Every contender runs the same random weights of flan-t5-base's shape
# (written once by `hhembench gen` to $BENCH_CACHE/model) on the same token
# ids; a contender whose score differs from hallu's by more than its
# tolerance is not timed. Contenders are long-lived workers that take turns
# within each round, so load from elsewhere on the machine falls on all of
# them alike.
#
# Contenders, each skipped with a line saying why when it is missing:
#   hallu    one worker per HALLU_VARIANTS entry, name[@maxtokens]:ENV=V,...:opt=k=v,...:tolerance
#            (default: fp32 on the fastest kernels the CPU has, fp32 on AVX2, the opt-in
#            bf16 and int8 precisions with the score tolerance their fidelity allows, and the
#            pure Go kernels that -tags purego builds, timed only up to 512 tokens as they are slow)
#   ort      npm's onnxruntime-node (native CPU library included; install with
#            npm install --ignore-scripts --prefix "$BENCH_CACHE/ort" onnxruntime-node)
#            running the graph that torch.onnx.export wrote (model-batch.onnx: ids [batch, tokens])
#   torch    Debian's python3-torch (apt-get install -y python3-torch libopenblas0-pthread)
#
# Environment: THREADS (default "1 2"), LENGTHS (default "128 512 2048"),
# BATCH (pairs per pass, default 1; a list such as "1 8" measures each), ROUNDS (default 5), TAGS (Go build tags), BENCH_CACHE (default
# ~/.cache/hallu-bench), SKIP (contenders to leave out, e.g. "torch").
# run: DOCS (default 1000), MIN_TOKENS/MAX_TOKENS (default 300/2000), RUN_THREADS (default nproc).
# long: LONG_LENGTHS (default "2048 4096 8192 16384"), RUN_THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-compare}
cache=${BENCH_CACHE:-$HOME/.cache/hallu-bench}
dir=$cache/model
bin=$cache/bin
mkdir -p "$bin"

go build -tags "${TAGS:-}" -o "$bin/hhembench" ./internal/cmd/hhembench
[ -f "$dir/model.safetensors" ] || "$bin/hhembench" gen -dir "$dir"
echo "# $(date -u +%FT%TZ), hallu $(git describe --always --dirty 2>/dev/null || echo ?), cores: $(nproc),$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), tags: ${TAGS:-none}, load average: $(cut -d' ' -f1-3 /proc/loadavg)"

skipped() { [[ " ${SKIP:-} " == *" $1 "* ]]; }

compare() {
	local cs=() v name envs opts tol cmd o
	for v in ${HALLU_VARIANTS:-fp32 avx2:HALLU_KERNEL=avx2 bf16::precision=bf16:0.02 int8::precision=int8:0.05 go@512:HALLU_NOASM=1}; do
		IFS=: read -r name envs opts tol <<<"$v"
		cmd="env ${envs//,/ } $bin/hhembench worker -dir $dir"
		for o in ${opts//,/ }; do cmd+=" -opt $o"; done
		cs+=(-c "$name|${tol:-1e-4}|$cmd")
	done

	local torch=""
	if skipped torch; then
		echo "torch: skipped (SKIP)"
	elif /usr/bin/python3 -c 'import torch' 2>/dev/null; then
		torch=1
		cs+=(-c "torch|1e-4|env OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 scripts/bench_hhem_torch.py worker $dir")
	else
		echo "torch: skipped (/usr/bin/python3 has no torch: apt-get install -y python3-torch libopenblas0-pthread)"
	fi

	local mods=${ORT_NODE_MODULES:-$cache/ort/node_modules}
	if skipped ort; then
		echo "ort: skipped (SKIP)"
	elif ! command -v node >/dev/null || ! ORT_NODE_MODULES=$mods node -e \
		'require(require("path").join(process.env.ORT_NODE_MODULES, "onnxruntime-node"))' 2>/dev/null; then
		echo "ort: skipped (no onnxruntime-node under $mods: npm install --ignore-scripts --prefix $cache/ort onnxruntime-node)"
	else
		# model-batch.onnx takes [batch, tokens]; an older model.onnx (one
		# 1-D sequence) is left alone and never run.
		if [ ! -f "$dir/model-batch.onnx" ] && [ -n "$torch" ]; then
			echo "exporting $dir/model-batch.onnx with torch.onnx.export"
			/usr/bin/python3 scripts/bench_hhem_torch.py export "$dir" 2>"$cache/export.log" ||
				{ tail -3 "$cache/export.log"; exit 1; }
		fi
		if [ -f "$dir/model-batch.onnx" ]; then
			cs+=(-c "ort|1e-4|ORT_NODE_MODULES=$mods node scripts/bench_hhem_ort.mjs $dir")
		else
			echo "ort: skipped (no $dir/model-batch.onnx, and exporting it needs torch)"
		fi
	fi

	"$bin/hhembench" drive -lengths "${LENGTHS:-128 512 2048}" -threads "${THREADS:-1 2}" \
		-batch "${BATCH:-1}" -rounds "${ROUNDS:-5}" -logs "$cache" "${cs[@]}"
	echo "# done $(date -u +%FT%TZ), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# run: what a 1,000-document leaderboard run costs, through the CLI.
whole() {
	local docs=${DOCS:-1000} in=$cache/docs.jsonl out=$cache/judged.jsonl
	go build -tags "${TAGS:-}" -o "$bin/hallu" ./cmd/hallu
	"$bin/hhembench" docs -n "$docs" -min "${MIN_TOKENS:-300}" -max "${MAX_TOKENS:-2000}" -out "$in"
	rm -f "$out"
	GOMAXPROCS=${RUN_THREADS:-$(nproc)} "$bin/hhembench" time -docs "$docs" -- \
		"$bin/hallu" score --scorer hhem --scorer-opt model-dir="$dir" --fallback-scorer none \
		--in "$in" --out "$out"
	echo "judged: $(wc -l <"$out") records in $out"
	echo "# done $(date -u +%FT%TZ), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# long: each length in a fresh process, so that its peak RSS is its own.
long() {
	local n
	for n in ${LONG_LENGTHS:-2048 4096 8192 16384}; do
		GOMAXPROCS=${RUN_THREADS:-$(nproc)} "$bin/hhembench" one -dir "$dir" -tokens "$n"
	done
	echo "# done $(date -u +%FT%TZ), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

case $mode in
compare) compare ;;
run) whole ;;
long) long ;;
*)
	echo "usage: $0 [compare|run|long]" >&2
	exit 2
	;;
esac
