#!/usr/bin/env bash
# Evaluate one or two checkpoints on a prepared dataset (or a CSV) on the standard protocol.
#   launch/evaluate.sh CHECKPOINT [CHECKPOINT2] DATA [OUTPUT_DIR]
# Writes OUTPUT_DIR/report.json and OUTPUT_DIR/plots/*.svg (default OUTPUT_DIR: runs/evaluate) and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: launch/evaluate.sh CHECKPOINT [CHECKPOINT2] DATA [OUTPUT_DIR]" >&2; exit 2; }
checkpoints=(--checkpoint "$1"); shift
if [ $# -ge 2 ] && [ -f "$1/config.json" ]; then checkpoints+=(--checkpoint "$1"); shift; fi
data=$1; out=${2:-runs/evaluate}
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
mkdir -p "$out"
"$ttm" evaluate "${checkpoints[@]}" --data "$data" --report "$out/report.json" --plots "$out/plots"
