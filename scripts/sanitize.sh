#!/usr/bin/env bash
# Runs the whole test suite (or the tests `swift test --filter` selects) under AddressSanitizer and
# UndefinedBehaviorSanitizer, each in its own build folder (.build-sanitize/<sanitizer>); the tests' `unet`
# runs are instrumented too. Leak reports are off here: Foundation and the Swift runtime keep caches for the
# life of the process, which LeakSanitizer reports at every exit; the fuzzers (Fuzz/run.sh) check leaks per input.
#
#   scripts/sanitize.sh                  # both sanitizers, every test
#   scripts/sanitize.sh address --filter Hostile
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=(address undefined)
if [ $# -gt 0 ] && [[ "$1" == address || "$1" == undefined ]]; then
    sanitizers=("$1")
    shift
fi
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# Swift's crash backtracer would run inside the sanitizer's report.
export SWIFT_BACKTRACE=enable=no
for sanitizer in "${sanitizers[@]}"; do
    echo "== $sanitizer"
    swift test --sanitize="$sanitizer" --scratch-path ".build-sanitize/$sanitizer" "$@"
done
