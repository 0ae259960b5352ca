#!/bin/sh
# Times single convolutions (scripts/bench_convolutions.cpp) in Debian's oneDNN 2.6, which unet links, and in
# the newest clean oneDNN 3.x build on PyPI (onednn-cpu-gomp 2023.2.0: oneDNN 3.2, GNU OpenMP; the newer `onednn`
# wheels need Intel's SYCL and TBB runtimes), side by side: the issue's "newer oneDNN" lever.
#
#     scripts/bench_onednn.sh [classic|sweep|winograd|int8]     (needs g++ and the fixture venv's pip; writes under .build/)
set -eu
cd "$(dirname "$0")/.."
mode="${1:-classic}"
out=.build/bench-onednn
mkdir -p "$out"
if [ ! -d "$out/3.2" ]; then
    .venv/bin/pip download -q --no-deps -d "$out/wheels" onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0
    for wheel in "$out"/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$out/3.2"; done
fi
lib=$(dirname "$(find "$out/3.2" -name 'libdnnl.so.3' | head -n 1)")
include=$(dirname "$(find "$out/3.2" -path '*include/dnnl.hpp' | head -n 1)")
g++ -O2 -std=c++17 scripts/bench_convolutions.cpp -ldnnl -o "$out/bench-2.6"
g++ -O2 -std=c++17 scripts/bench_convolutions.cpp -I"$include" -L"$lib" -ldnnl -Wl,-rpath,"$(cd "$lib" && pwd)" -o "$out/bench-3.2"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
"$out/bench-2.6" "$mode"
"$out/bench-3.2" "$mode"
