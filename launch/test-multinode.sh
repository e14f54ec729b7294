#!/usr/bin/env bash
# Multi-node test on one machine: two "hosts" made of network namespaces joined by a veth pair on a private
# /24 (10.200.0.0/24, only these two addresses and loopback are used), one rank on each, through a hostfile.
# The same job runs on one host with 2 ranks; the losses must agree within 1e-4 relative at every step.
#   launch/test-multinode.sh TTM_BINARY CONFIG_TEMPLATE WORKDIR
# CONFIG_TEMPLATE holds @RUN@ where the run folder goes. Needs root (network namespaces).
set -euo pipefail
ttm=$1; template=$2; work=$3
[ "$(id -u)" -eq 0 ] || { echo "test-multinode: needs root for network namespaces" >&2; exit 1; }
command -v ip >/dev/null || { echo "test-multinode: 'ip' (iproute2) not found" >&2; exit 1; }
mkdir -p "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cleanup() { ip netns del ttmA 2>/dev/null || true; ip netns del ttmB 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add ttmA; ip netns add ttmB
ip link add ttmvethA type veth peer name ttmvethB
ip link set ttmvethA netns ttmA; ip link set ttmvethB netns ttmB
ip -n ttmA addr add 10.200.0.1/24 dev ttmvethA; ip -n ttmB addr add 10.200.0.2/24 dev ttmvethB
for ns in ttmA ttmB; do ip -n "$ns" link set lo up; done
ip -n ttmA link set ttmvethA up; ip -n ttmB link set ttmvethB up

# Open MPI starts the remote daemon through this "ssh": it enters the host's namespace with its own hostname.
agent="$work/agent.sh"
cat > "$agent" <<'AGENT'
#!/bin/sh
host=$1; shift
case "$host" in
    10.200.0.1) ns=ttmA; cpu=0; name=hostA ;;
    10.200.0.2) ns=ttmB; cpu=1; name=hostB ;;
    *) echo "agent: unknown host $host" >&2; exit 1 ;;
esac
exec ip netns exec "$ns" unshare --uts taskset -c "$cpu" sh -c "hostname $name; $*"
AGENT
chmod +x "$agent"
printf '10.200.0.1 slots=1\n10.200.0.2 slots=1\n' > "$work/hostfile"

sed "s|@RUN@|$work/two-hosts|g" "$template" > "$work/two-hosts.yaml"
sed "s|@RUN@|$work/one-host|g" "$template" > "$work/one-host.yaml"
rm -rf "$work/two-hosts" "$work/one-host"

echo "== 2 ranks on one host"
mpirun -np 2 --mca btl vader,self --mca oob_tcp_if_include lo -x OPENBLAS_NUM_THREADS=1 "$ttm" pretrain --config "$work/one-host.yaml"
echo "== 2 hosts (network namespaces), 1 rank each"
ip netns exec ttmA unshare --uts sh -c "hostname hostA; exec mpirun --hostfile '$work/hostfile' \
    --mca plm_rsh_agent '$agent' --mca oob_tcp_if_include 10.200.0.0/24 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.200.0.0/24 --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM '$ttm' pretrain --config '$work/two-hosts.yaml'"

# Compare the loss curves.
extract() { grep -o '"loss":[^,}]*' "$1" | cut -d: -f2; }
paste <(extract "$work/one-host/metrics.jsonl") <(extract "$work/two-hosts/metrics.jsonl") | awk '
    { n++; d = $1 - $2; if (d < 0) d = -d; r = d / ($1 < 0 ? -$1 : $1); if (r > worst) worst = r }
    END {
        printf "multinode: %d steps compared, largest relative loss difference %.3g\n", n, worst
        if (n < 30 || worst > 1e-4) { print "multinode: FAILED"; exit 1 }
        print "multinode: 1 passed, 0 failed"
    }'
