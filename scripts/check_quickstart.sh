#!/bin/sh
# The README's Quick start as a new user runs it: a fresh clone of this repository's HEAD in a temporary folder,
# `make test`, then `make demo`, whose held-out mIoU must reach 0.90. Slow (two builds); for releases and
# before landing changes to the build, bootstrap or demo.
#   scripts/check_quickstart.sh
set -eu
repository=$(cd "$(dirname "$0")/.." && pwd)
clone=$(mktemp -d)/unet
trap 'rm -rf "$(dirname "$clone")"' EXIT
git clone --quiet "$repository" "$clone"
cd "$clone"
echo "== make test (in $clone)"
make test
echo "== make demo"
make demo
miou=$(sed -n 's/.*"mean_iou":\([0-9.]*\).*/\1/p' runs/demo/metrics.json)
echo "held-out mIoU: $miou"
awk -v m="$miou" 'BEGIN { exit !(m >= 0.90) }' || { echo "the demo's mIoU is below 0.90" >&2; exit 1; }
echo "quick start: ok"
