#!/usr/bin/env bash
# Runs the whole test suite (or what `--filter` selects) under the sanitizers, each in its own build folder
# (.build-sanitize/<name>); the tests' `unet` runs are instrumented too.
#
#   scripts/sanitize.sh                       # address, then undefined
#   scripts/sanitize.sh address --filter Hostile
#
# address: AddressSanitizer over every Swift target (use after free, overflows of unsafe buffers, oneDNN
#   and codec buffers we hand out). Leak reports are off: Foundation and the Swift runtime keep caches for the
#   life of the process, which LeakSanitizer reports at every exit; the fuzzers (Fuzz/run.sh) check leaks per input.
# undefined: the Swift toolchain refuses -sanitize=undefined on Linux (UBSan instruments C, and this package
#   compiles no C of its own); Swift checks what UBSan checks (overflow, bounds, exclusivity, nil) in every
#   build, so this runs the suite optimized with testing enabled (-c release): the code users run, where those
#   checks are the only guard. (The C libraries are Debian's binaries, which cannot be instrumented here.)
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
status=0
for sanitizer in "${sanitizers[@]}"; do
    echo "== $sanitizer"
    case $sanitizer in
    address) swift test --sanitize=address --scratch-path .build-sanitize/address "$@" || status=1 ;;
    undefined)
        swift test -c release -Xswiftc -enable-testing --scratch-path .build-sanitize/undefined "$@" || status=1 ;;
    esac
done
exit $status
