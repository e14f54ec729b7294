#!/usr/bin/env bash
# Data-parallel scaling on this machine: 1 rank against N ranks under mpirun (default N = the core count), the
# same per-rank batch, in alternating rounds so both see the machine's noise alike. Each round is one
# `ttm bench model --mode pretrain` run (random windows, the engine's own pretraining step: forward, backward,
# gradient allreduce, clip, AdamW; one GEMM thread per rank). Prints every round's total samples/s and allreduce
# time (waiting for the slower rank included), and the median ratio N ranks / 1 rank. The data path is not in
# it (`ttm bench data` measures that; pretraining prefetches). Not part of the tests.
#   launch/bench-ranks.sh [ROUNDS] [STEPS] [RANKS] [CONFIG]
# CONFIG is a run config whose model section is used (default: the issue's reference TTM).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
steps=${2:-20}
ranks=${3:-$(nproc)}
config=${4:-}
for value in "$rounds" "$steps" "$ranks"; do
    [[ "$value" =~ ^[1-9][0-9]*$ ]] || { echo "bench-ranks: ROUNDS, STEPS and RANKS must be positive integers, not '$value'" >&2; exit 2; }
done
[ -z "$config" ] || [ -f "$config" ] || { echo "bench-ranks: no config file '$config'" >&2; exit 2; }
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
args=(bench model --steps "$steps" --json --mode pretrain)
[ -z "$config" ] || args+=(--config "$config")

# One JSON field of one mode's line.
field() { grep "\"mode\":\"$1\"" | sed -E "s/.*\"$2\":([0-9.e+-]+).*/\1/"; }

lscpu | grep -E "Model name" | sed -E 's/ +/ /g'
echo "model: ${config:-reference TTM}; $steps timed steps per round, 64 windows per rank (a sample is one univariate window)"
printf "%-6s %14s %14s %14s %8s\n" round "1 rank, /s" "$ranks ranks, /s" "allreduce ms" ratio
ratios=()
for round in $(seq 1 "$rounds"); do
    one=$(OPENBLAS_NUM_THREADS=1 "$ttm" "${args[@]}")
    many=$(mpirun -np "$ranks" --mca btl vader,self --mca oob_tcp_if_include lo --bind-to none -x OPENBLAS_NUM_THREADS=1 \
        "$ttm" "${args[@]}")
    a=$(field pretrain samples_per_second <<<"$one")
    b=$(field pretrain samples_per_second <<<"$many")
    wait_ms=$(field pretrain allreduce_milliseconds <<<"$many")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
    printf "%-6s %14.1f %14.1f %14.2f %7sx\n" "$round" "$a" "$b" "$wait_ms" "$ratio"
    ratios+=("$ratio")
done
median() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "pretraining, $ranks ranks against 1 (total samples/s): median $(median "${ratios[@]}")x of $rounds rounds"
