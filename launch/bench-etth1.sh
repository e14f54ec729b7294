#!/usr/bin/env bash
# ETTh1 with the standard protocol (context 512, horizon 96): prepare, pretrain on ETTh1's train split (2 ranks),
# fine-tune on rank 0 when the config has a finetune section, evaluate on the test split; prints MSE/MAE and
# wall time. Any model kind: configs/etth1-benchmark.yaml (TTM, the default), configs/etth1-tsmixer.yaml.
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
# A benchmark starts from nothing: remove what an earlier run of this config left.
# Only relative paths inside this checkout are removed (never /dev/null or anything outside).
for key in directory output metrics; do
    path=$(awk -v k="$key:" '$1 == k {print $2; exit}' "$config")
    case "$path" in ""|/*|*..*) continue ;; esac
    rm -rf -- "$path"
done
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun -np 2 --mca btl vader,self --mca oob_tcp_if_include lo --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    "$ttm" pretrain --config "$config"
# Where the config put the pretrained and (if it fine-tunes) the fine-tuned model.
checkpoints=$(awk '/^checkpointing:/{s=1} s && /directory:/{print $2; exit}' "$config")
finetuned=$(awk '/^finetune:/{s=1} s && /output:/{print $2; exit}' "$config")
models=(--checkpoint "$checkpoints/final")
[ -n "$finetuned" ] && models+=(--checkpoint "$finetuned")
run=$(dirname "$checkpoints")
rm -rf "$run/report.json" "$run/plots"
"$ttm" evaluate "${models[@]}" --data data/etth1 --season-period 24 --report "$run/report.json" --plots "$run/plots"
echo "bench-etth1: wall time $(( $(date +%s) - started )) s (prepare, pretrain, fine-tune, evaluate; build excluded if cached)"
