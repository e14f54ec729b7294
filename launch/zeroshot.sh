#!/usr/bin/env bash
# Zero-shot evaluation of a TTM checkpoint: ETTh1 (standard protocol: ett-hourly split, 512-step context, test
# split, z-scored with the train statistics) and every held-out series of the public corpus
# (data/public-heldout/*, made by launch/corpus-public.sh), against last-value, seasonal-naive and train-mean
# forecasts, in one table (runs/zeroshot/table.md, runs/zeroshot/<dataset>.json).
#   launch/zeroshot.sh [CHECKPOINT [ETTh1.csv]]   (default CHECKPOINT: runs/public/checkpoints/averaged, what
#                                                 launch/pretrain-public.sh makes; default ETTh1:
#                                                 ../shared/datasets/ETT-small/ETTh1.csv or $TTM_ETTH1)
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=${1:-runs/public/checkpoints/averaged}
etth1=${2:-${TTM_ETTH1:-../shared/datasets/ETT-small/ETTh1.csv}}
[ -f "$checkpoint/config.json" ] || { echo "zeroshot: $checkpoint is not a model folder (no config.json; give one, or run launch/pretrain-public.sh first)" >&2; exit 1; }
[ -f "$etth1" ] || { echo "zeroshot: no ETTh1 CSV at $etth1 (give its path as the second argument)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "zeroshot: needs python3 to assemble the table" >&2; exit 1; }
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
out=runs/zeroshot
mkdir -p "$out" data/zeroshot
[ -d data/zeroshot/etth1 ] || "$ttm" prepare --input "$etth1" --output data/zeroshot/etth1 --split ett-hourly >/dev/null
datasets=(data/zeroshot/etth1)
for folder in data/public-heldout/*/; do [ -d "$folder" ] && datasets+=("${folder%/}"); done
for data in "${datasets[@]}"; do
    name=$(basename "$data")
    echo "== $name"
    "$ttm" evaluate --checkpoint "$checkpoint" --data "$data" --split test --report "$out/$name.json" --overwrite >/dev/null
done
python3 - "$out" "$checkpoint" "${datasets[@]}" <<'PY' | tee "$out/table.md"
import json, os, sys
out, checkpoint, datasets = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"Zero-shot test MSE (MAE) of {checkpoint}, z-scored with each dataset's train statistics:\n")
print("| dataset | windows | model | seasonal naive | last value | train mean | beats seasonal naive |")
print("|---|---:|---:|---:|---:|---:|---|")
for data in datasets:
    report = json.load(open(os.path.join(out, os.path.basename(data) + ".json")))
    model = report["models"][0]
    seasonal = next(v for k, v in report["baselines"].items() if k.startswith("seasonal"))
    cell = lambda m: f"{m['mse']:.4f} ({m['mae']:.4f})"
    print(f"| {os.path.basename(data)} | {report['windows']} | {cell(model)} | {cell(seasonal)} | {cell(report['baselines']['last value'])} "
          f"| {cell(report['baselines']['train mean'])} | {'yes' if model['mse'] < seasonal['mse'] else 'no'} |")
PY
