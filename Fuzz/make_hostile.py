#!/usr/bin/env python3
"""Writes the hand-made hostile inputs of Fuzz/regressions/<target>/ (standard library only): the crafted files
of the robustness issue (deep, cyclic and exponential pickles, overflowing and overlapping views, a 4.4 TB legacy
storage, a native model with absurd metadata, image bombs, truncated images, CRLF text). make test replays them
with the libFuzzer findings. Run from the repository root: python3 Fuzz/make_hostile.py"""
import json
import os
import struct
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regressions")


def write(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# Pickle opcodes (protocol 2), by hand.
def short(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def long8(i):
    return b"\x8a\x08" + struct.pack("<q", i)


def glob(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def tensor(key, numel, size, stride, offset=0):
    storage = b"(" + short("storage") + glob("torch", "FloatStorage") + short(key) + short("cpu") + long8(numel) + b"t"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + b"Q" + long8(offset)
            + b"(" + b"".join(long8(s) for s in size) + b"t" + b"(" + b"".join(long8(s) for s in stride) + b"t"
            + b"\x89" + glob("collections", "OrderedDict") + b")R" + b"tR")


P = b"\x80\x02"
deep = P + b"]" * 30000 + b"a" * 29999 + b"."
self_key = P + b"}]q\x00h\x00aK\x01s."
self_mask = P + b"}" + short("mask_values") + b"]q\x00h\x00as."
dup = P + b"}N" + b"2\x86" * 80 + b"Ns."
write("pickle", "deep-list.pkl", deep)
write("pickle", "self-referential-key.pkl", self_key)
write("pickle", "self-referential-mask-values.pkl", self_mask)
write("pickle", "dup-tuple-2-pow-80.pkl", dup)


def pth(pickle, storages):
    import io
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle)
        for key, data in storages.items():
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")
    return buffer.getvalue()


write("torch", "stride-zero-40-gb.pth", pth(P + b"}" + short("w") + tensor("0", 10, [100000, 100000], [0, 0]) + b"s.", {"0": bytes(40)}))
write("torch", "size-overflow.pth", pth(P + b"}" + short("w") + tensor("0", 4, [1 << 62, 4], [4, 1]) + b"s.", {"0": bytes(16)}))
write("torch", "offset-overflow.pth", pth(P + b"}" + short("w") + tensor("0", 4, [2, 2], [(1 << 62), 1], offset=(1 << 63) - 3) + b"s.", {"0": bytes(16)}))
write("torch", "deep-list.pth", pth(deep, {}))
write("torch", "self-referential-mask-values.pth", pth(self_mask, {}))
magic = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
legacy_object = (P + b"}" + short("w") + glob("torch._utils", "_rebuild_tensor_v2") + b"(" + b"(" + short("storage")
                 + glob("torch", "FloatStorage") + short("0") + short("cpu") + long8(1_100_000_000_000) + b"NtQ"
                 + long8(0) + b"(" + long8(1) + b"t(" + long8(1) + b"t\x89NtRs.")
legacy = magic + P + b"J\xe9\x03\x00\x00." + P + b"}." + legacy_object + P + b"]" + short("0") + b"a." + bytes(8)
write("torch", "legacy-4-tb-storage.pth", legacy)

zipped = bytearray(pth(P + b"}.", {}))
directory = zipped.find(b"PK\x01\x02")
zipped[directory + 42:directory + 46] = b"\xff\xff\xff\xff"
write("zip", "local-header-offset-4-gib.pth", bytes(zipped))
write("zip", "stride-zero.pth", pth(P + b"}" + short("w") + tensor("0", 10, [100000, 100000], [0, 0]) + b"s.", {"0": bytes(40)}))


def safetensors(header, data):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


write("safetensors", "shape-overflow.safetensors",
      safetensors({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}, bytes(16)))
write("safetensors", "overlapping-entries.safetensors",
      safetensors({f"w{i}": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]} for i in range(500)}, bytes(1024)))
write("safetensors", "header-length-huge.safetensors", struct.pack("<Q", (1 << 63) + 5) + b"{}")
deep_json = b"[" * 100000 + b"]" * 100000
write("safetensors", "deep-json.safetensors", struct.pack("<Q", len(deep_json)) + deep_json)


def npy(shape, data):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


write("npy", "shape-overflow.npy", npy("(4611686018427387904, 4)", b""))
write("npy", "negative-shape.npy", npy("(-2, 3)", bytes(24)))


def native(configuration, metadata):
    header = {"__metadata__": {"format": "pt", "unet.configuration": json.dumps(configuration),
                               "unet.metadata": json.dumps(metadata)},
              "inc.double_conv.0.weight": {"dtype": "F32", "shape": [4, 1, 3, 3], "data_offsets": [0, 144]}}
    return safetensors(header, bytes(144))


configuration = {"layout": "milesial", "inputChannels": 1, "classes": 2, "baseWidth": 4, "depth": 2, "padding": "same",
                 "merge": "pad", "concatOrder": "skip-first", "batchNorm": True, "convolutionBias": False,
                 "upsampling": "transposed"}
write("model", "scale-1e300.safetensors", native(configuration, {"normalization": {}, "scale": 1e300}))
write("model", "scale-0.safetensors", native(configuration, {"normalization": {}, "scale": 0}))
write("model", "std-0.safetensors", native(configuration, {"normalization": {"mean": [0.5], "std": [0]}}))
write("model", "base-width-1e6.safetensors", native(dict(configuration, baseWidth=1_000_000), {"normalization": {}}))
write("model", "base-width-4096-depth-8.safetensors", native(dict(configuration, baseWidth=4096, depth=8), {"normalization": {}}))
write("model", "classes-negative.safetensors", native(dict(configuration, classes=-3), {"normalization": {}}))

write("list", "crlf.txt", "image/0.png label/0.png\r\nimage/1.png label/1.png\r\n")
write("list", "long-line.txt", "a " * 100000 + "\n")
write("list", "controls.txt", "im\x1bage.png\x00 mask\x0b.png\r\r\n#\n")
write("keymap", "crlf.map", "^encoder\\.0\\. => inc.\r\n^head\\. => outc.conv.\r\n")
write("keymap", "bad-pattern.map", "([ => x\n")
write("masktable", "huge-number.txt", "0,99999999999999999999999999")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


png_bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 200000, 9)) + png_chunk(b"IEND", b""))
write("image", "png-bomb-20000.png", png_bomb)


def tiff(width, height):
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 122), (278, 4, height),
            (279, 4, 4)]
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        out += struct.pack("<HHII", tag, kind, 1, value)
    return out + struct.pack("<I", 0) + b"\x01\x02\x03\x04"


write("image", "tiff-bomb-200000.tif", tiff(200000, 200000))
gif = (b"GIF89a" + struct.pack("<HH", 64, 64) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
       + b"\x2c" + struct.pack("<HHHH", 0, 0, 64, 64) + b"\x00" + b"\x02" + b"\xff" + b"\x84" * 40)
write("image", "truncated.gif", gif)
write("image", "tga-guess.tga", bytes([0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 4, 0, 24, 0]) + bytes(48))
write("image", "jpeg-no-eoi.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x12" * 30)
