#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what is missing, builds, runs `swift test`
# (MPI as a singleton), then the MPI tests again under mpirun with 2 ranks and with 4 ranks oversubscribed.
# Exits non-zero if any phase fails. The last line counts test executions over all phases and ranks.
set -uo pipefail
cd "$(dirname "$0")/.."

bash launch/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }

echo "== build"
swift build --build-tests || { echo "test.sh: build failed" >&2; exit 1; }
bin=$(swift build --show-bin-path)
tests="$bin/ttmPackageTests.xctest"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_passed=0
total_failed=0
failed_phases=()

# Adds up XCTest's closing "Executed N tests, with M failures" lines of the given logs.
count_results() {
    local executed failures
    for log in "$@"; do
        read -r executed failures < <(grep -A1 -E "^Test Suite '(All|Selected) tests' (passed|failed)" "$log" \
            | grep -oE "Executed [0-9]+ tests?, with [0-9]+ failures?" | tail -n 1 | grep -oE "[0-9]+" | tr '\n' ' ')
        if [ -z "${executed:-}" ]; then
            echo "test.sh: no XCTest summary in $log (crashed or hung?)" >&2
            total_failed=$((total_failed + 1))
            continue
        fi
        if [ "$executed" -eq 0 ]; then
            echo "test.sh: $log ran no test" >&2
            total_failed=$((total_failed + 1))
            continue
        fi
        total_passed=$((total_passed + executed - failures))
        total_failed=$((total_failed + failures))
    done
}

echo "== swift test (MPI as a singleton)"
swift test --skip-build --disable-swift-testing 2>&1 | tee "$logs/swift-test.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed_phases+=("swift test")
count_results "$logs/swift-test.log"

# Every test class of the MPITests module, as XCTest specifiers ("MPITests.A,MPITests.B").
mpi_tests=$("$tests" --list-tests 2>/dev/null | grep -oE "^MPITests\.[A-Za-z0-9_]+" | sort -u | paste -sd, -)
[ -n "$mpi_tests" ] || { echo "test.sh: found no MPITests classes in $tests" >&2; exit 1; }

# The allocation check is about the optimised build: run it there (debug builds allocate in the standard
# library's unspecialised generic code). -enable-testing lets the tests' @testable imports compile. The
# AVX-512 loops' bit-equality is checked there too: only the optimised build has them vectorised.
echo "== release build: no heap allocation in a training step; AVX-512 loops give the eight-lane bits"
if swift build -c release --build-tests -Xswiftc -enable-testing; then
    release_tests="$(swift build -c release --show-bin-path)/ttmPackageTests.xctest"
    "$release_tests" NNTests.AllocationTests,TrainingTests.EngineAllocationTests,NNTests.ElementwiseLoopsTests 2>&1 | tee "$logs/release-allocation.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed_phases+=("release allocation test")
    count_results "$logs/release-allocation.log"
else
    failed_phases+=("release build")
fi

if [ "$(id -u)" -eq 0 ]; then
    # Open MPI refuses to start as root unless told that this is intended.
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
for ranks in 2 4; do
    extra=()
    [ "$ranks" -gt "$(nproc)" ] && extra+=(--oversubscribe)
    out="$logs/mpi-$ranks"
    echo "== MPI tests under mpirun -np $ranks ${extra[*]}"
    timeout 600 mpirun -np "$ranks" "${extra[@]}" --mca btl vader,self --mca oob_tcp_if_include lo \
        -x OPENBLAS_NUM_THREADS=1 --output-filename "$out" "$tests" "$mpi_tests"
    status=$?
    for rank_log in "$out"/1/rank.*/stdout; do
        { grep -E "error|failed" "$rank_log"; grep "Executed" "$rank_log" | tail -n 1; } \
            | sed "s|^|[$(basename "$(dirname "$rank_log")")] |"
    done
    [ "$status" -eq 0 ] || failed_phases+=("mpirun -np $ranks (exit $status)")
    count_results "$out"/1/rank.*/stdout
done

# Two "hosts" in network namespaces running the same pretraining job through a hostfile (needs root).
echo "== multi-node: 2 network-namespace hosts vs 1 host"
ett="$(cd .. && pwd)/shared/datasets/ETT-small/ETTh1.csv"
release_ttm="$(swift build -c release --show-bin-path)/ttm"
if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: the multi-node test needs root (network namespaces); it did not run" >&2
    failed_phases+=("multi-node (not root)")
elif "$release_ttm" prepare --input "$ett" --output "$logs/etth1" --split ett-hourly --context 64 >/dev/null; then
    cat > "$logs/multinode.yaml" <<YAML
model: {context_length: 64, prediction_length: 16, patch_length: 8, num_backbone_levels: 2, blocks_per_level: 1,
        hidden_features: 16, decoder_layers: 1, dropout: 0.3, head_dropout: 0.2}
data: {shards: [$logs/etth1]}
training: {global_batch_size: 24, learning_rate: 2.0e-3, warmup_steps: 4, schedule: one-cycle, steps: 32, seed: 11}
logging: {metrics: "@RUN@/metrics.jsonl", progress_every: 16}
YAML
    if timeout 600 bash launch/test-multinode.sh "$release_ttm" "$logs/multinode.yaml" "$logs/multinode" 2>&1 | tee "$logs/multinode.log"; then
        total_passed=$((total_passed + 1))
    else
        failed_phases+=("multi-node"); total_failed=$((total_failed + 1))
    fi
else
    failed_phases+=("multi-node (prepare)")
fi

if [ ${#failed_phases[@]} -gt 0 ]; then
    echo "test.sh: FAILED: ${failed_phases[*]}" >&2
fi
echo "tests: $total_passed passed, $total_failed failed"
[ ${#failed_phases[@]} -eq 0 ] && [ "$total_failed" -eq 0 ]
