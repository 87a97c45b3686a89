#!/usr/bin/env bash
# Builds the fuzz targets if needed (libFuzzer + AddressSanitizer, LeakSanitizer on) and runs
# one on its seeds: Fuzzing/run.sh TARGET SECONDS [libFuzzer flags...]; SECONDS 0 = no time
# limit (pass -runs=N). Seeds come from Tests/*/Fixtures and Fuzzing/Seeds; inputs that find
# new coverage go to Fuzzing/.build/corpus/TARGET, crashes to Fuzzing/.build/crashes/TARGET.
# Leaves out merging corpora back into Seeds: keep committed seeds small and hand-picked.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags...]" >&2
    echo "targets: FuzzSafeTensors FuzzGGUF FuzzTokenizer FuzzJinja FuzzDatasets FuzzConfig" >&2
    exit 2
fi
target="$1"; seconds="$2"; shift 2

# Input size limits: each covers the target's largest seed, so seeds are not cut short.
case "$target" in
    FuzzSafeTensors) max_len=4096 ;;
    FuzzGGUF) max_len=32768 ;;
    FuzzTokenizer) max_len=32768 ;;
    FuzzJinja) max_len=8192 ;;
    FuzzDatasets) max_len=4096 ;;
    FuzzConfig) max_len=4096 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac

# SwiftPM passes each --sanitize value as its own -sanitize flag and swiftc keeps only the
# last one, so the pair goes in one flag; --sanitize=fuzzer still makes SwiftPM compile the
# executables as libraries (libFuzzer supplies main).
build=(swift build -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address --package-path "$here")
"${build[@]}" --product "$target" 2>&1 | grep -v "Cannot export local symbol" >&2 || true
binary="$("${build[@]}" --show-bin-path)/$target"
[ -x "$binary" ] || { echo "build of $target failed" >&2; exit 1; }

# Seeds, rebuilt each run from the fixtures (cheap) plus the committed ones.
seeds="$here/.build/seeds/$target"
corpus="$here/.build/corpus/$target"
artifacts="$here/.build/crashes/$target"   # not .build/artifacts: SwiftPM owns and prunes that
rm -rf "$seeds"; mkdir -p "$seeds" "$corpus" "$artifacts"
sep=$'\n--8<--\n'   # FuzzInput.separator: joins several files into one input
fx="$root/Tests"
case "$target" in
    FuzzSafeTensors)
        cp "$fx"/SafeTensorsTests/Fixtures/*.safetensors "$seeds/"
        sh="$fx/SafeTensorsTests/Fixtures/sharded"
        { cat "$sh/model.safetensors.index.json"; printf '%s' "$sep"; cat "$sh/model-00001-of-00002.safetensors"
          printf '%s' "$sep"; cat "$sh/model-00002-of-00002.safetensors"; } > "$seeds/sharded" ;;
    FuzzGGUF)
        for f in "$fx"/GGUFTests/Fixtures/*.gguf; do
            [ "$(stat -c %s "$f")" -le "$max_len" ] && cp "$f" "$seeds/"
        done ;;
    FuzzTokenizer)
        for d in "$fx"/TokenizersTests/Fixtures/*/ "$fx"/DataTests/Fixtures/*/; do
            [ -f "$d/tokenizer.json" ] || continue
            name="$(basename "$(dirname "$d")")-$(basename "$d")"
            if [ -f "$d/tokenizer_config.json" ]; then
                { cat "$d/tokenizer.json"; printf '%s' "$sep"; cat "$d/tokenizer_config.json"; } > "$seeds/$name"
            else
                cp "$d/tokenizer.json" "$seeds/$name"
            fi
        done ;;
    FuzzDatasets)
        cp "$fx"/DataTests/Fixtures/*.jsonl "$seeds/"
        for f in "$fx"/RLHFTests/Fixtures/*.jsonl; do cp "$f" "$seeds/rlhf-$(basename "$f")"; done ;;
esac
[ -d "$here/Seeds/$target" ] && cp "$here/Seeds/$target"/* "$seeds/"

# Swift's own crash backtracer would read memory ASan then reports; let libFuzzer report the trap.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
# -timeout: one input may take 10 s (a hang is a finding); -rss_limit_mb: 2 GB is a finding too.
exec "$binary" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$corpus" "$seeds"
