#!/usr/bin/env bash
# ttm against PyTorch (granite-tsfm's TinyTimeMixerForPrediction) on the same machine, in one run: the same
# architecture (PyTorch builds it from the config.json ttm writes), the same batch of windows (a sample is one
# window of context + horizon steps of one series: univariate for these TTM configs), the same modes
# (pretraining step, frozen-backbone fine-tune step, inference forward). Rounds alternate between the two so
# that both see the machine's noise alike. Prints one table with the ratio ttm / PyTorch. Not part of the tests.
#   launch/bench-pytorch.sh [ROUNDS] [STEPS] [ISA]
# ISA "avx2" holds both sides to AVX2 on an AVX-512 CPU, to see an AVX2-only machine's kind of run: ttm with
# TTM_AVX512=0 (its eight-lane build) and OpenBLAS's Haswell kernels for the sgemm peak, PyTorch with
# ATEN_CPU_CAPABILITY=avx2, MKL_ENABLE_INSTRUCTIONS=AVX2 and ONEDNN_MAX_CPU_ISA=AVX2. It is not an AVX2 CPU
# (same caches and clocks; MKL on an AMD CPU may pick other kernels), so say which one you measured.
# The venv (torch, granite-tsfm, numpy from PyPI) is made once under ~/.cache/ttm-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
steps=${2:-10}
isa=${3:-native}
case "$isa" in
    native) ttm_env=(); torch_env=() ;;
    avx2) ttm_env=(TTM_AVX512=0 OPENBLAS_CORETYPE=Haswell)
          torch_env=(ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2) ;;
    *) echo "bench-pytorch: ISA must be native or avx2, not '$isa'" >&2; exit 2 ;;
esac
venv=${TTM_BENCH_VENV:-$HOME/.cache/ttm-bench/venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, tsfm_public" 2>/dev/null; then
    echo "bench-pytorch: making $venv (pip install torch granite-tsfm numpy; several GB, once)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch granite-tsfm numpy
fi
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The issue's reference config (ttm bench model's default) and the seed default.
configs=(reference configs/ttm-default.yaml)
lscpu | grep -E "Model name|^Flags" | sed -E 's/^Flags:(.*)/Flags (vector):\1/' | grep -oE "Model name:.*|avx512f|avx2" | sort -u | tr '\n' ' '; echo "(run with ISA: $isa)"
for config in "${configs[@]}"; do
    name=$(basename "$config" .yaml)
    if [ "$config" = reference ]; then "$ttm" bench model --save-config "$work/$name.json"
    else "$ttm" bench model --config "$config" --save-config "$work/$name.json"; fi
    for threads in 1 2; do
        for round in $(seq 1 "$rounds"); do
            env "${torch_env[@]}" OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads "$venv/bin/python" launch/bench_pytorch.py \
                --config "$work/$name.json" --threads "$threads" --steps "$steps" \
                | sed "s/^{/{\"impl\": \"pytorch\", \"config\": \"$name\", \"round\": $round, /" >> "$work/results.jsonl"
            # (In the avx2 run ttm's note that OPENBLAS_CORETYPE slows sgemm is expected: it is the point.)
            env "${ttm_env[@]}" "$ttm" bench model --config "$work/$name.json" --threads "$threads" --steps "$steps" --json \
                2> >(grep -v "OPENBLAS_CORETYPE=Haswell pins" >&2) \
                | sed "s/^{/{\"impl\": \"ttm\", \"config\": \"$name\", \"round\": $round, /" >> "$work/results.jsonl"
        done
    done
done
python3 - "$work/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
capabilities = sorted({r.get("cpu_capability", "?") for r in rows if r["impl"] == "pytorch"})
print(f"PyTorch CPU capability: {', '.join(capabilities)}")
def pick(impl, config, threads, mode):
    return [r for r in rows if r["impl"] == impl and r["config"] == config and r["threads"] == threads and r["mode"] == mode]
print("| config | threads | mode | PyTorch samples/s (rounds) | ttm samples/s (rounds) | ttm / PyTorch | ttm GEMM of sgemm peak | if only GEMM |")
print("|---|---:|---|---|---|---:|---:|---:|")
for config in dict.fromkeys(r["config"] for r in rows):
    for threads in (1, 2):
        for mode in ("pretrain", "fine-tune", "inference"):
            p, t = pick("pytorch", config, threads, mode), pick("ttm", config, threads, mode)
            if not p or not t: continue
            ps, ts = [r["samples_per_second"] for r in p], [r["samples_per_second"] for r in t]
            ratio = statistics.median(ts) / statistics.median(ps)
            peak = statistics.median(r["of_peak"] for r in t)
            # What ttm would reach if nothing but its GEMMs took time and each ran at the engine's best-shape rate.
            ceiling = statistics.median(r["batch"] * r["engine_gemm_gflops"] / r["gemm_gflop_per_step"] for r in t) / statistics.median(ps)
            print(f"| {config} | {threads} | {mode} | {', '.join(f'{v:.0f}' for v in ps)} | {', '.join(f'{v:.0f}' for v in ts)} | {ratio:.2f}x | {100 * peak:.0f}% | {ceiling:.2f}x |")
PY
echo "if only GEMM: the ratio ttm would reach if its step were only its GEMMs, each at the engine GEMM's rate on"
echo "3584x384x192 in the same run (its best shape; a few small ones run faster): about the most that faster"
echo "elementwise code can give."
