#!/usr/bin/env python3
"""Reference tensors for ImageTransformTests (run by the test, never copied into it).

Writes into OUT: generated images (PNG RGB, PNG gray, JPEG RGB at quality 90) and, per image and per
pipeline, float32 little-endian .bin files with torchvision's results:
  <name>.decoded.bin       ToTensor(PIL.open(f).convert(mode))                       [C, H, W]
  <name>.<pipe>.tensor.bin F.normalize(F.center_crop(F.resize(decoded, size, BILINEAR, antialias=True), crop))
  <name>.<pipe>.pil.bin    the same with Resize/CenterCrop on the PIL image (8-bit rounding after each pass)
jitter.<component>.bin (F.adjust_brightness/contrast/saturation/hue of image 0's RGB pixels) and
manifest.json listing images, shapes and pipelines. Needs Debian's python3-torchvision.
Usage: torchvision_transforms_reference.py OUT
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# (name, resize size (int or [h, w]), center crop [h, w])
PIPELINES = [
    ("down", 24, [20, 20]),      # shrink with aspect kept: antialiasing matters
    ("up", 64, [48, 48]),        # enlarge: plain half-pixel bilinear
    ("exact", [17, 33], [17, 33]),
    ("pad", 16, [20, 24]),       # crop larger than the image: zero padding
    ("odd", 37, [31, 29]),
]


def make_image(rng, h, w, gray):
    y, x = np.mgrid[0:h, 0:w]
    channels = []
    for c in range(1 if gray else 3):
        fx, fy, ph = rng.uniform(0.05, 0.5, 3)
        smooth = 127 + 90 * np.sin(fx * x + ph) * np.cos(fy * y)
        channels.append(np.clip(smooth + rng.normal(0, 25, (h, w)), 0, 255))
    arr = np.stack(channels, -1).astype(np.uint8)
    return Image.fromarray(arr[..., 0] if gray else arr, "L" if gray else "RGB")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(12345)
    images = []
    for i, (h, w, kind) in enumerate([(40, 56, "png"), (31, 23, "png"), (50, 50, "jpg"), (45, 70, "jpg"), (29, 41, "gray")]):
        gray = kind == "gray"
        img = make_image(rng, h, w, gray)
        name = f"img{i}_{kind}"
        path = os.path.join(out, name + (".jpg" if kind == "jpg" else ".png"))
        if kind == "jpg":
            img.save(path, quality=90)
        else:
            img.save(path)
        images.append({"name": name, "file": os.path.basename(path), "format": "jpeg" if kind == "jpg" else "png"})

    for entry in images:
        # Both modes for every file: RGB (ImageFolder's convert("RGB")) and gray ("L").
        for mode in ("RGB", "L"):
            pil = Image.open(os.path.join(out, entry["file"])).convert(mode)
            decoded = F.to_tensor(pil)
            tag = f"{entry['name']}.{mode}"
            decoded.numpy().astype("<f4").tofile(os.path.join(out, tag + ".decoded.bin"))
            entry[mode] = list(decoded.shape)
            mean, std = (MEAN, STD) if mode == "RGB" else ([0.5], [0.25])
            for pipe, size, crop in PIPELINES:
                t = F.resize(decoded, size, InterpolationMode.BILINEAR, antialias=True)
                t = F.normalize(F.center_crop(t, crop), mean, std)
                t.numpy().astype("<f4").tofile(os.path.join(out, f"{tag}.{pipe}.tensor.bin"))
                p = F.center_crop(F.resize(pil, size, InterpolationMode.BILINEAR), crop)
                p = F.normalize(F.to_tensor(p), mean, std)
                p.numpy().astype("<f4").tofile(os.path.join(out, f"{tag}.{pipe}.pil.bin"))

    # ColorJitter's components with fixed factors on the first image's decoded RGB pixels.
    decoded = F.to_tensor(Image.open(os.path.join(out, images[0]["file"])).convert("RGB"))
    jitter = {"brightness": 1.3, "contrast": 0.6, "saturation": 1.7, "hue": 0.2}
    F.adjust_brightness(decoded, jitter["brightness"]).numpy().astype("<f4").tofile(os.path.join(out, "jitter.brightness.bin"))
    F.adjust_contrast(decoded, jitter["contrast"]).numpy().astype("<f4").tofile(os.path.join(out, "jitter.contrast.bin"))
    F.adjust_saturation(decoded, jitter["saturation"]).numpy().astype("<f4").tofile(os.path.join(out, "jitter.saturation.bin"))
    F.adjust_hue(decoded, jitter["hue"]).numpy().astype("<f4").tofile(os.path.join(out, "jitter.hue.bin"))

    manifest = {"jitter": jitter,"torch": torch.__version__, "torchvision": torchvision.__version__, "images": images,
                "pipelines": [{"name": n, "size": s if isinstance(s, list) else [s], "crop": c} for n, s, c in PIPELINES],
                "mean": {"RGB": MEAN, "L": [0.5]}, "std": {"RGB": STD, "L": [0.25]}}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
