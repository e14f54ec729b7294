#!/usr/bin/env bash
# Data-parallel TTM pretraining under mpirun.
#   launch/pretrain.sh CONFIG.yaml [-n RANKS | --hostfile FILE] [--resume] [-- extra mpirun arguments]
# Sets the environment right for each rank: OpenBLAS threads per rank (cores / ranks per node unless
# OPENBLAS_NUM_THREADS is set), the AVX-512 kernels chosen by ttm unless OPENBLAS_CORETYPE is set by you,
# and Open MPI's root permission when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: launch/pretrain.sh CONFIG.yaml [-n RANKS | --hostfile FILE] [--resume] [-- mpirun args]" >&2; exit 2; }
[ $# -ge 1 ] || usage
config=$1; shift
ranks=2; hostfile=""; resume=(); extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        -n|--np) ranks=$2; shift 2 ;;
        --hostfile) hostfile=$2; shift 2 ;;
        --resume) resume=(--resume); shift ;;
        --) shift; extra=("$@"); break ;;
        *) usage ;;
    esac
done
[ -f "$config" ] || { echo "pretrain.sh: no config file '$config'" >&2; exit 2; }

bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"

if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
if [ -n "$hostfile" ]; then
    placement=(--hostfile "$hostfile")
    per_node=$(awk '/slots=/{split($2,a,"="); if (a[2] > m) m = a[2]} END {print (m ? m : 1)}' "$hostfile")
else
    placement=(-np "$ranks")
    [ "$ranks" -gt "$(nproc)" ] && placement+=(--oversubscribe)
    per_node=$ranks
    placement+=(--mca btl vader,self --mca oob_tcp_if_include lo)
fi
threads=${OPENBLAS_NUM_THREADS:-$(( $(nproc) / per_node > 0 ? $(nproc) / per_node : 1 ))}
env_args=(-x OPENBLAS_NUM_THREADS="$threads")
[ -n "${OPENBLAS_CORETYPE:-}" ] && env_args+=(-x OPENBLAS_CORETYPE)
exec mpirun "${placement[@]}" --bind-to none "${env_args[@]}" "${extra[@]}" "$ttm" pretrain --config "$config" "${resume[@]}"
