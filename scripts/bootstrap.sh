#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with the Swift toolchain lacks to build and test unet:
#   libdnnl-dev  oneDNN 2.6 (the convolution, pooling, batch-norm and matmul kernels)
#   libstb-dev   stb_image / stb_image_write / stb_image_resize (PNG, JPEG, GIF, BMP)
#   libtiff-dev  libtiff (TIFF, including LZW)
#   libopenmpi-dev, openmpi-bin  Open MPI (data-parallel training and sharded prediction under mpirun; pkg-config's
#                ompi-c finds it at build time, and the tests start 2-rank jobs)
#   pkg-config   how SwiftPM finds Open MPI's headers and library
#   chromium     headless Chromium: the browser test of `unet serve`'s page (loads it, uploads an image, screenshots
#                the overlay)
# Idempotent and quick when everything is present: it only asks dpkg. Uses sudo when not root.
set -euo pipefail

packages=(libdnnl-dev libstb-dev libtiff-dev libopenmpi-dev openmpi-bin pkg-config chromium)

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: the Swift toolchain (swift) is not on PATH; install Swift 6 first" >&2
    exit 1
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
((${#missing[@]} == 0)) && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi

echo "bootstrap: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done"
