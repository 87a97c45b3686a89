#!/usr/bin/env bash
# CI smoke run: every fuzz target for a short while (default 20 s each, FUZZ_SECONDS to
# change). Fails on the first crash, leak or timeout, printing the end of the target's log;
# the reproducer is in Fuzzing/.build/crashes/TARGET. Leaves out long runs: use run.sh.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/.build"
for target in FuzzSafeTensors FuzzGGUF FuzzTokenizer FuzzJinja FuzzDatasets FuzzConfig; do
    log="$here/.build/smoke-$target.log"
    "$here/run.sh" "$target" "${FUZZ_SECONDS:-20}" > "$log" 2>&1
    rc=$?
    runs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
    if [ "$rc" -ne 0 ]; then
        echo "$target: FAILED (exit $rc) after $runs runs; end of $log:"
        tail -n 40 "$log"
        exit 1
    fi
    echo "$target: $runs runs, no crash"
done
