#!/usr/bin/env bash
# Single-node debug run (no mpirun): makes a small synthetic dataset in data/debug if missing, then runs
# configs/debug.yaml with --debug (tiny model, finite-difference gradient check, NaN checks, phase timings).
#   launch/debug.sh [CONFIG.yaml]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/debug.yaml}
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
if [ ! -d data/debug ]; then
    mkdir -p data
    # Three seasonal series with noise, hourly, 2000 rows each, long format.
    awk 'BEGIN { srand(7); print "id,timestamp,load,temp";
        for (s = 0; s < 3; s++) for (t = 0; t < 2000; t++)
            printf "s%d,%d,%.4f,%.4f\n", s, t, 10 + s + 3*sin(6.2832*t/24) + sin(6.2832*t/168) + 0.3*rand(), 20 + 5*cos(6.2832*t/24 + s) + 0.2*rand() }' > data/debug.csv
    "$ttm" prepare --input data/debug.csv --output data/debug --id-columns id --timestamp-column timestamp --split ratio:0.7,0.1,0.2
fi
exec "$ttm" pretrain --config "$config" --debug
