#!/usr/bin/env bash
# Benchmarks the pure-Go HHEM/T5 encoder (scorers/hhem/internal/t5) against PyTorch
# on the same machine: random weights of flan-t5-base's real dimensions,
# one sequence of 128, 512 and 2,048 tokens, the same thread count.
#
# Each length runs in its own process so that its peak RSS (VmHWM) is its
# own. The PyTorch side needs Debian's python3-torch (apt-get install -y
# python3-torch libopenblas0-pthread; without an optimised BLAS Debian's
# torch falls back to the reference BLAS and is many times slower) and runs
# under /usr/bin/python3. Set SKIP_TORCH=1 to run the Go side only.
#
# Environment: THREADS (default: nproc), LENGTHS (default "128 512 2048"),
# RUNS (timed runs per length, default 3), TAGS (Go build tags, e.g.
# "openblas" for the cgo OpenBLAS kernel instead of the default pure Go one).
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-$(nproc)}
lengths=${LENGTHS:-128 512 2048}
runs=${RUNS:-3}

echo "# cores: $(nproc), threads used: $threads, tags: ${TAGS:-none},$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -tags "${TAGS:-}" -o "$tmp/t5.test" ./scorers/hhem/internal/t5/
for n in $lengths; do
	echo "## $n tokens"
	GOMAXPROCS=$threads "$tmp/t5.test" -test.run '^$' \
		-test.bench "BenchmarkLogits/tokens=$n\$" -test.benchtime "${runs}x" |
		grep '^Benchmark' | sed 's/^/go:    /'
	if [ -z "${SKIP_TORCH:-}" ]; then
		if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
			printf 'torch: '
			OMP_NUM_THREADS=$threads /usr/bin/python3 scripts/bench_hhem_torch.py \
				--tokens "$n" --threads "$threads" --runs "$runs"
			printf 'torch: '
			OMP_NUM_THREADS=$threads /usr/bin/python3 scripts/bench_hhem_torch.py \
				--tokens "$n" --threads "$threads" --runs "$runs" --last-row-only
		else
			echo "torch: skipped (/usr/bin/python3 has no torch; apt-get install -y python3-torch)"
		fi
	fi
done
