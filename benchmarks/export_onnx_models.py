#!/usr/bin/python3
"""Exports torchvision models to ONNX the way a user hands them to an inference runtime: random (seeded)
weights, randomized batch-norm statistics, eval mode, torch.onnx.export at one opset with a dynamic batch.
Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME.shape ("3,224,224": the per-image input shape). Skips files that
exist. Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14, python3-onnx).

usage: export_onnx_models.py OUT_DIR OPSET NAME [NAME ...]
"""
import os
import sys

import torch
import torchvision

# Usual input size per model (torchvision's documented inference sizes; 224 elsewhere).
INPUT = {"inception_v3": 299, "efficientnet_b3": 300, "efficientnet_v2_s": 384}
SEGMENTATION = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")


class MainOutput(torch.nn.Module):
    """Segmentation models return a dict; ONNX wants tensors: keep 'out'."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def build(name):
    torch.manual_seed(0)
    if name in SEGMENTATION:
        kwargs = {"weights": None, "weights_backbone": None}
        if name == "fcn_resnet50":
            kwargs["aux_loss"] = False
        model = MainOutput(getattr(torchvision.models.segmentation, name)(**kwargs))
    else:
        kwargs = {"weights": None}
        if name in ("googlenet", "inception_v3"):
            kwargs.update(aux_logits=False, init_weights=False)
        model = getattr(torchvision.models, name)(**kwargs)
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model.eval()


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out_dir, opset = argv[1], int(argv[2])
    os.makedirs(out_dir, exist_ok=True)
    for name in argv[3:]:
        path = os.path.join(out_dir, name + ".onnx")
        size = INPUT.get(name, 224)
        with open(os.path.join(out_dir, name + ".shape"), "w") as f:
            f.write("3,%d,%d\n" % (size, size))
        if os.path.exists(path):
            continue
        model = build(name)
        with torch.no_grad():
            torch.onnx.export(model, torch.zeros(1, 3, size, size), path + ".tmp", opset_version=opset,
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        os.replace(path + ".tmp", path)
        sys.stderr.write("exported %s (opset %d, 3x%dx%d)\n" % (name, opset, size, size))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
