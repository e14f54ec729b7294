#!/usr/bin/env bash
# MixerFlow against Glow on Fashion-MNIST, each trained data-parallel on 2 ranks for the same wall-time budget:
#   launch/bench-fashion-mnist.sh [MINUTES_PER_MODEL]     (default 12: about 45 minutes in all on 2 cores)
# Trains configs/mixerflow-fashion.yaml, the same with shift_every: 0 (the ablation without shift layers) and
# configs/glow-fashion.yaml. Each model's step count is its budget divided by its own time per step, measured
# in a 100-step calibration run, so each gets the same training time and a complete learning-rate schedule.
# Then scores all three on the test split (bits/dim, linear probe on 10,000 training latents, round-trip error)
# and draws a sample grid of each. Writes runs/fashion-mnist/: report.json, report.md, samples-*.png, the models.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-12}
[[ "$minutes" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "usage: $0 [MINUTES_PER_MODEL]" >&2; exit 2; }
bash launch/setup.sh --fashion-mnist
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
data=data/fashion-mnist
out=runs/fashion-mnist
[ -d "$data" ] || "$ttm" prepare --images /usr/share/datasets/fashion-mnist --output "$data"
rm -rf "$out"
mkdir -p "$out/models"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun=(mpirun -np 2 --bind-to core)
machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(grep -q avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2)"
echo "bench-fashion-mnist: $machine; $minutes minutes of training per model on 2 ranks"

# config NAME STEPS: the model's config with the run's step count, warmup, folders and data.
config() {
    local name=$1 steps=$2 base=configs/mixerflow-fashion.yaml extra=()
    [ "$name" = glow ] && base=configs/glow-fashion.yaml
    [ "$name" = mixerflow_no_shift ] && extra=(-e 's/^  shift_every: .*/  shift_every: 0/')
    local every=$(( steps / 4 > 0 ? steps / 4 : 1 ))
    sed -e "/^training:/,/^[a-z]/ s/^  steps: .*/  steps: $steps/" \
        -e "s/^  warmup_steps: .*/  warmup_steps: $(( steps / 50 ))/" \
        -e "s/^  validation_every: .*/  validation_every: $every/" -e "s/^  every: .*/  every: $every/" \
        -e "s#runs/[a-z-]*/#$out/$name/#" -e "s#\[data/fashion-mnist\]#[$data]#" "${extra[@]}" "$base"
}

declare -A seconds
for name in mixerflow mixerflow_no_shift glow; do
    # Calibration: 100 steps (30 proved too noisy: ±15% per step), no checkpoints, no validation.
    config "$name" 100 | awk '/^[a-z]/ { skip = ($0 == "checkpointing:") } !skip' \
        | sed -e "s/^  validation_every: .*/  validation_every: 0/" > "$out/$name-calibration.yaml"
    rm -rf "$out/$name"
    line=$("${mpirun[@]}" "$ttm" pretrain --config "$out/$name-calibration.yaml" | grep "per step:")
    # "per step: data 0.99 ms, forward 91.35 ms, ..." -> the sum of the phases in ms.
    per_step=$(echo "$line" | grep -o '[0-9.]* ms' | awk '{ s += $1 } END { print s }')
    steps=$(awk -v m="$minutes" -v p="$per_step" 'BEGIN { printf "%d", m * 60000 / p }')
    echo "== $name: $per_step ms per step in calibration -> $steps steps of 64 images"
    rm -rf "$out/$name"
    config "$name" "$steps" > "$out/$name.yaml"
    start=$(date +%s.%N)
    "${mpirun[@]}" "$ttm" pretrain --config "$out/$name.yaml"
    seconds[$name]=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cp -r "$out/$name/checkpoints/final" "$out/models/$name"
done

"$ttm" evaluate --checkpoint "$out/models/mixerflow" --checkpoint "$out/models/mixerflow_no_shift" --checkpoint "$out/models/glow" \
    --data "$data" --split test --report "$out/evaluate.json" | tee "$out/report.md"
for name in mixerflow mixerflow_no_shift glow; do
    "$ttm" sample --checkpoint "$out/models/$name" --count 64 --temperature 0.7 --output "$out/samples-$name.png"
done
# report.json: the evaluation's figures plus the training time and the machine.
{
    sed '$ d' "$out/evaluate.json"
    printf ',\n  "train_seconds" : {"mixerflow" : %s, "mixerflow_no_shift" : %s, "glow" : %s},\n' \
        "${seconds[mixerflow]}" "${seconds[mixerflow_no_shift]}" "${seconds[glow]}"
    printf '  "budget_minutes_per_model" : %s,\n  "ranks" : 2,\n  "machine" : "%s"\n}\n' "$minutes" "$machine"
} > "$out/report.json"
{
    echo
    echo "Training: $minutes minutes per model on 2 ranks ($machine); wall seconds incl. start-up, validation and checkpoints:"
    echo "mixerflow ${seconds[mixerflow]} s, mixerflow_no_shift ${seconds[mixerflow_no_shift]} s, glow ${seconds[glow]} s."
} >> "$out/report.md"
echo "report: $out/report.json, $out/report.md, samples: $out/samples-*.png"
