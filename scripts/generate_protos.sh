#!/usr/bin/env bash
# Regenerates the committed Swift code of the two protocol-buffer schemas the tool writes:
#   Sources/ONNXProto/onnx.pb.swift            from onnx.proto3 (the `onnx` sdist on PyPI, ONNX_VERSION)
#   Sources/TensorBoardProto/*.pb.swift        from TensorBoard's event.proto and what it imports (the
#                                              descriptors compiled into the `tensorboard` wheel, TENSORBOARD_VERSION)
# Run it only when a schema version changes; neither the build nor the tests need it. It needs protoc (Debian's
# protobuf-compiler), the fixture venv (.venv, with tensorboard) and network access to PyPI, and builds
# protoc-gen-swift from the swift-protobuf version Package.swift names (about a minute of release build).
set -euo pipefail
cd "$(dirname "$0")/.."

ONNX_VERSION=1.23.2
TENSORBOARD_VERSION=2.21.0
SWIFT_PROTOBUF_VERSION=1.39.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v protoc >/dev/null || { echo "generate_protos.sh: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
installed=$(.venv/bin/python -c "import tensorboard; print(tensorboard.__version__)")
[[ "$installed" == "$TENSORBOARD_VERSION" ]] || { echo "generate_protos.sh: .venv has tensorboard $installed, want $TENSORBOARD_VERSION" >&2; exit 1; }

# protoc-gen-swift, from the same swift-protobuf release as the runtime library.
git -c advice.detachedHead=false clone -q --depth 1 --branch "$SWIFT_PROTOBUF_VERSION" https://github.com/apple/swift-protobuf "$work/swift-protobuf"
swift build -c release --package-path "$work/swift-protobuf" --product protoc-gen-swift >/dev/null
plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"

# onnx.proto3 from the sdist.
sdist=$(curl -fsS https://pypi.org/simple/onnx/ | grep -o "https://[^\"#]*/onnx-$ONNX_VERSION\.tar\.gz" | head -1)
curl -fsS -o "$work/onnx.tar.gz" "$sdist"
tar xzf "$work/onnx.tar.gz" -C "$work" "onnx-$ONNX_VERSION/onnx/onnx.proto3"
mkdir -p Sources/ONNXProto
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_out=Sources/ONNXProto \
    -I "$work/onnx-$ONNX_VERSION/onnx" "$work/onnx-$ONNX_VERSION/onnx/onnx.proto3"

# TensorBoard's schema as the wheel compiled it: a FileDescriptorSet of event.proto and its imports.
.venv/bin/python - "$work/tensorboard.pb" <<'EOF'
import sys
from google.protobuf import descriptor_pb2
from tensorboard.compat.proto import event_pb2

files, seen = descriptor_pb2.FileDescriptorSet(), set()
def add(descriptor):
    for dependency in descriptor.dependencies:
        add(dependency)
    if descriptor.name not in seen:
        seen.add(descriptor.name)
        proto = files.file.add()
        proto.ParseFromString(descriptor.serialized_pb)
add(event_pb2.DESCRIPTOR)
open(sys.argv[1], "wb").write(files.SerializeToString())
EOF
mkdir -p "$work/tb" Sources/TensorBoardProto
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --swift_out="$work/tb" --descriptor_set_in="$work/tensorboard.pb" \
    tensorboard/compat/proto/{histogram,tensor_shape,types,resource_handle,tensor,summary,event}.proto
cp "$work"/tb/*.pb.swift Sources/TensorBoardProto/
ls Sources/ONNXProto Sources/TensorBoardProto
