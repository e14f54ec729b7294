#!/usr/bin/env bash
# ETTh1 with the standard protocol (context 512, horizon 96): prepare, pretrain on ETTh1's train split
# (channel-independent, 2 ranks), fine-tune on rank 0, evaluate on the test split; prints MSE/MAE and wall time.
#   launch/bench-etth1.sh [PATH/TO/ETTh1.csv] [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
csv=${1:-../shared/datasets/ETT-small/ETTh1.csv}
config=${2:-configs/etth1-benchmark.yaml}
[ -f "$csv" ] || { echo "bench-etth1: no file '$csv' (give the path to ETTh1.csv)" >&2; exit 2; }
started=$(date +%s)
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
rm -rf data/etth1
"$ttm" prepare --input "$csv" --output data/etth1 --split ett-hourly --context 512 --horizon 96
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun -np 2 --mca btl vader,self --mca oob_tcp_if_include lo --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    "$ttm" pretrain --config "$config"
# Where the config put the pretrained and the fine-tuned model.
checkpoints=$(awk '/^checkpointing:/{s=1} s && /directory:/{print $2; exit}' "$config")
finetuned=$(awk '/^finetune:/{s=1} s && /output:/{print $2; exit}' "$config")
run=$(dirname "$finetuned")
"$ttm" evaluate --checkpoint "$checkpoints/final" --checkpoint "$finetuned" --data data/etth1 \
    --season-period 24 --report "$run/report.json" --plots "$run/plots"
echo "bench-etth1: wall time $(( $(date +%s) - started )) s (prepare, pretrain, fine-tune, evaluate; build excluded if cached)"
