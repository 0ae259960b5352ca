#!/bin/sh
# The machine's roofline (scripts/bench_roofline.c): peak multiply-accumulate rates of the fp32, bf16 and int8
# instructions oneDNN's convolutions use, and memory bandwidth, on one thread and on all this process may use (or
# on THREADS). One JSON line per probe.
#
#     scripts/bench_roofline.sh [THREADS]     (needs a C compiler; builds into .build/)
set -eu
cd "$(dirname "$0")/.."
mkdir -p .build/roofline
"${CC:-cc}" -O2 -pthread scripts/bench_roofline.c -o .build/roofline/bench_roofline
exec .build/roofline/bench_roofline "$@"
