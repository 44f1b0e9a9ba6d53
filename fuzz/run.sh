#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one after the other, and prints what each
# found. Crashes land in fuzz/artifacts/<target>/; turn each into a regression test, then delete it.
#   fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(engine config decode hook_stdin)
fi

# libFuzzer needs nightly flags; fall back to stable with RUSTC_BOOTSTRAP when no nightly exists.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

[ -d corpus/engine ] || ./seed.sh

declare -A max_len=([engine]=65536 [config]=8192 [decode]=4096 [hook_stdin]=4096)
mkdir -p logs
"${fuzz[@]}" build -O || exit 2
status=0
for t in "${targets[@]}"; do
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    mkdir -p "corpus/$t"
    echo "== $t: ${secs}s"
    start=$(date +%s)
    "${fuzz[@]}" run -O "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]:-4096}" \
        -print_final_stats=1 "${dict[@]}" >"logs/$t.log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1 || true)
    found=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    echo "   ran ${took}s, ${runs:-?} execs, ${cov:-cov ?}, exit $rc, artifacts: $found (log: fuzz/logs/$t.log)"
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY' "logs/$t.log" | head -5
        ls "artifacts/$t" 2>/dev/null | sed 's/^/   /'
        status=1
    fi
done
exit $status
