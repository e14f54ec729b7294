#!/usr/bin/env bash
# Pretrains configs/public-pretrain.yaml on 2 ranks of this machine (after launch/corpus-public.sh), continuing
# from the newest checkpoint when an earlier run was interrupted; the final model lands in
# runs/public/checkpoints/final. Then: launch/zeroshot.sh runs/public/checkpoints/final
#   launch/pretrain-public.sh [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/public-pretrain.yaml}
[ -f data/public/manifest.json ] || { echo "pretrain-public: no data/public/manifest.json; run launch/corpus-public.sh first" >&2; exit 1; }
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
directory=$(sed -n '/^checkpointing:/,/^[a-z]/ s/^  directory: *//p' "$config")
resume=()
if [ -n "$directory" ] && ls -d "$directory"/step-* >/dev/null 2>&1 && [ ! -d "$directory/final" ]; then
    echo "pretrain-public: continuing the interrupted run in $directory"
    resume=(--resume)
elif [ -n "$directory" ] && [ -d "$directory/final" ]; then
    echo "pretrain-public: $directory/final exists already (move $directory away to train again)" >&2
    exit 1
fi
exec mpirun -np 2 --bind-to core "$ttm" pretrain --config "$config" "${resume[@]}"
