#!/usr/bin/env bash
# The README's main-job command. Today it covers what exists: install the system libraries, build in release
# mode, and measure the two things training stands on (sgemm throughput on this CPU, a 2-rank allreduce).
# Pretraining, fine-tuning and evaluation on a real corpus join this script as they land (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh
echo "== build (release)"
swift build -c release
ttm="$(swift build -c release --show-bin-path)/ttm"

echo "== sgemm on one thread"
"$ttm" bench blas --threads 1 --seconds 0.5

if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "== allreduce across 2 ranks"
mpirun -np 2 --mca btl vader,self --mca oob_tcp_if_include lo -x OPENBLAS_NUM_THREADS=1 \
    "$ttm" bench allreduce --megabytes 1 8 64

echo
echo "quickstart: the model, data and training commands are not in this build yet; see README.md."
