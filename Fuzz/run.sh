#!/usr/bin/env bash
# Fuzzes the parsers that read users' files with libFuzzer: builds unet-fuzz with coverage instrumentation and
# AddressSanitizer (the toolchain's -sanitize=fuzzer, linked with libFuzzer's no-main runtime because SwiftPM
# names the executable's entry point itself), then runs each target for the given seconds.
#
#   Fuzz/run.sh [SECONDS] [TARGET...]     e.g. Fuzz/run.sh 1800 pickle     (default: 60 s, every target)
#
# The corpus grows in .build-fuzz/corpus/<target>, seeded from the test fixtures and Fuzz/regressions/<target>.
# Findings land in .build-fuzz/findings/<target>/; minimise one (unet-fuzz TARGET -minimize_crash=1 FILE), fix
# the cause, and commit it to Fuzz/regressions/<target>/, which `make test` replays.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(pickle torch zip safetensors npy model list keymap masktable image metricslog smpconfig nnunetplans multipart)
fi

toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
runtime=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
build=.build-fuzz
swift build -c release --product unet-fuzz --scratch-path "$build" \
    -Xswiftc -DFUZZING -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,indirect-calls,pc-table,inline-8bit-counters \
    -Xlinker "$runtime" -Xlinker -lstdc++
fuzzer="$build/release/unet-fuzz"
# Swift's own crash backtracer would run under AddressSanitizer and confuse its report.
export SWIFT_BACKTRACE=enable=no

# Seeds: real files of each kind from the test fixtures.
fixtures=Tests/TestSupport/Fixtures
seed() {
    local target=$1
    shift
    mkdir -p "$build/corpus/$target"
    for file in "$@"; do [ -f "$file" ] && cp -n "$file" "$build/corpus/$target/" || true; done
}
seed pickle
if command -v unzip > /dev/null; then
    for pth in "$fixtures"/models/*.pth; do
        unzip -p "$pth" '*/data.pkl' > "$build/corpus/pickle/$(basename "$pth" .pth).pkl" 2>/dev/null || true
    done
fi
seed torch "$fixtures"/models/*.pth "$fixtures"/predict/*.pth "$fixtures"/models/nnunet_folder/fold_0/*.pth
seed zip "$fixtures"/models/milesial_b2_c2.pth "$fixtures"/models/views.pth
seed safetensors "$fixtures"/models/*.safetensors "$fixtures"/formats/*.safetensors
seed npy
printf "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }%*s\n" 49 "" > "$build/corpus/npy/seed.npy"
head -c 24 /dev/zero >> "$build/corpus/npy/seed.npy"
seed model "$fixtures"/models/labml_b2.pth "$fixtures"/models/milesial_b2_c2.safetensors "$fixtures"/models/tutorial_same_pad.pth \
    "$fixtures"/models/monai_unet_res0.pth "$fixtures"/models/monai_basicunet_whole.pth "$fixtures"/models/nnunet_folder/fold_0/*.pth
seed list
printf 'image/0.png label/0.png\r\nimage/1.png, label/1.png  roi/1.png # comment\n\n' > "$build/corpus/list/seed.txt"
seed keymap "$fixtures"/models/custom_depth3.map
seed masktable
printf '0 0 0;255 0 0;0 255 0' > "$build/corpus/masktable/colours.txt"
printf '0,128,255' > "$build/corpus/masktable/gray.txt"
seed metricslog
printf '{"kind":"step","step":1,"loss":0.9,"learningRate":0.001}\n{"kind":"validation","step":1,"dice":0.5,"meanIoU":0.4,"loss":0.8}\n' > "$build/corpus/metricslog/seed.jsonl"
seed smpconfig "$fixtures"/models/smp_resnet18_d3_config.json
seed nnunetplans "$fixtures"/models/nnunet_folder/plans.json
seed multipart
printf 'multipart/form-data; boundary="xYz"\0--xYz\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--xYz  \r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--xYz--\r\n' \
    > "$build/corpus/multipart/seed.bin"
seed image "$fixtures"/images/*.png "$fixtures"/images/*.jpg "$fixtures"/images/*.gif "$fixtures"/images/*.bmp "$fixtures"/images/*.tif

status=0
for target in "${targets[@]}"; do
    mkdir -p "$build/findings/$target" "Fuzz/regressions/$target"
    echo "== $target: $seconds s"
    "$fuzzer" "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -artifact_prefix="$build/findings/$target/" -print_final_stats=1 \
        "$build/corpus/$target" "Fuzz/regressions/$target" 2>&1 | tail -n 25 || status=1
done
exit $status
