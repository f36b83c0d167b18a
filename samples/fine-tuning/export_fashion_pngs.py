#!/usr/bin/env python3
"""Writes Fashion-MNIST (Debian's dataset-fashion-mnist IDX files) as PNG ImageFolders for the
fine-tuning walkthrough (docs/fine-tuning.md):

  OUT/pretrain/{train,test}/<k>_<name>/NNNNN.png   classes 0-4
  OUT/finetune/{train,test}/<k>_<name>/NNNNN.png   classes 5-9

The subsets are the first N images of each class in file order (no randomness), so CnnNative and
PyTorch read the same files. Class folders sort in label order ("5_sandal" < "6_shirt" ...).
Usage: export_fashion_pngs.py OUT [--pretrain-per-class N] [--finetune-per-class N] [--test-per-class N]
"""
import argparse
import gzip
import os
import struct
import zlib

NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return [data[16 + i * rows * cols:16 + (i + 1) * rows * cols] for i in range(n)], rows, cols
    return list(data[8:8 + n]), 0, 0


def write_png(path, pixels, rows, cols):
    # 8-bit grayscale PNG, filter 0 on every row (plain zlib; no imaging library needed).
    raw = b"".join(b"\x00" + pixels[r * cols:(r + 1) * cols] for r in range(rows))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def export(images, labels, rows, cols, out, classes, per_class):
    taken = {k: 0 for k in classes}
    for i, (img, label) in enumerate(zip(images, labels)):
        if label in taken and taken[label] < per_class:
            d = os.path.join(out, f"{label}_{NAMES[label]}")
            os.makedirs(d, exist_ok=True)
            write_png(os.path.join(d, f"{i:05d}.png"), img, rows, cols)
            taken[label] += 1
    return sum(taken.values())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--pretrain-per-class", type=int, default=1000)
    p.add_argument("--finetune-per-class", type=int, default=100)
    p.add_argument("--test-per-class", type=int, default=500)
    a = p.parse_args()
    train_x, rows, cols = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    train_y, _, _ = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz"))
    test_x, _, _ = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))
    test_y, _, _ = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))
    for stage, classes, per_class in (("pretrain", range(0, 5), a.pretrain_per_class),
                                      ("finetune", range(5, 10), a.finetune_per_class)):
        n_train = export(train_x, train_y, rows, cols, os.path.join(a.out, stage, "train"), set(classes), per_class)
        n_test = export(test_x, test_y, rows, cols, os.path.join(a.out, stage, "test"), set(classes), a.test_per_class)
        print(f"{stage}: {n_train} training, {n_test} test images (classes {classes.start}-{classes.stop - 1})")


if __name__ == "__main__":
    main()
