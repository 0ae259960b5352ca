#!/usr/bin/env python3
"""Writes Tests/TestSupport/Fixtures/images/variants/: valid image files in the variants real datasets hold
(progressive and EXIF JPEGs, animated and 1-bit GIFs, 1/8/24/32-bit BMPs, TIFFs with each compression and
several pages, 16-bit PNG), each with `<name>.npy`, the pixels Pillow decodes (float32, H x W x C), so that a
test proves the truncation checks and decoders accept every one of them. Needs pillow and numpy only:
    python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow numpy && /tmp/pil/bin/python scripts/make_image_variants.py
"""
import os

import numpy as np
from PIL import Image

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TestSupport", "Fixtures", "images", "variants")


def save_npy(array, path):
    np.save(path, array.astype(np.float32))


def main():
    os.makedirs(FOLDER, exist_ok=True)
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 256, (19, 27, 3), dtype=np.uint8))
    gray = rgb.convert("L")
    exif = Image.Exif()
    exif[0x010E] = "a description"
    files = {
        "progressive.jpg": lambda p: rgb.save(p, progressive=True, quality=85),
        "exif.jpg": lambda p: rgb.save(p, exif=exif, quality=85),
        "gray.jpg": lambda p: gray.save(p, quality=85),
        "animated.gif": lambda p: rgb.convert("P").save(p, save_all=True, append_images=[gray.convert("P")], duration=50),
        "bits.gif": lambda p: gray.convert("1").save(p),
        "bits.bmp": lambda p: gray.convert("1").save(p),
        "palette8.bmp": lambda p: rgb.convert("P").save(p),
        "gray.bmp": lambda p: gray.save(p),
        "rgba.bmp": lambda p: rgb.convert("RGBA").save(p),
        "raw.tif": lambda p: rgb.save(p, compression="raw"),
        "deflate.tif": lambda p: rgb.save(p, compression="tiff_deflate"),
        "packbits.tif": lambda p: rgb.save(p, compression="packbits"),
        "jpeg.tif": lambda p: rgb.save(p, compression="jpeg"),
        "pages.tif": lambda p: rgb.save(p, save_all=True, append_images=[gray.convert("RGB")]),
        "gray16.png": lambda p: Image.fromarray(rng.integers(0, 65536, (11, 15), dtype=np.uint16)).save(p),
        "optimized.png": lambda p: gray.save(p, optimize=True),
    }
    for name, write in files.items():
        path = os.path.join(FOLDER, name)
        write(path)
        decoded = Image.open(path)
        decoded.seek(0)
        pixels = np.asarray(decoded.convert("I" if decoded.mode.startswith("I") else "RGBA"))
        save_npy(pixels if pixels.ndim == 3 else pixels[..., None], path + ".npy")
    total = sum(os.path.getsize(os.path.join(FOLDER, f)) for f in os.listdir(FOLDER))
    print(f"{len(files)} variants written to {os.path.relpath(FOLDER)} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
