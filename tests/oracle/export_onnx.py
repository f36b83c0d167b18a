#!/usr/bin/python3
"""export_onnx.py — writes the ONNX fixtures of the test suite with torch.onnx.export (Debian python3-torch 1.13,
python3-torchvision 0.14, python3-onnx). The expected values come from ONNX Runtime in the tests, not from here:
this script only writes files.

usage: export_onnx.py < JOBS.json > RESULTS.json
    JOBS: a JSON list of {"arch", "opset", "path", "input_shape": [N, C, H, W], "num_classes", "seed"}; one process
    exports the whole list (torch's import dominates a single small export).
    RESULTS: a JSON list, one entry per job in order: {"param_count", "op_types"} (op_types sorted, of the written
    graph), or {"error": message} when that model could not be exported (the others still are).

Models (arch): lenet5 (tests/oracle/reference_lenet5.py), the small modules below for operators the zoo does not
export (concat_clip, pad_conv, gated), any torchvision 0.14 classifier (num_classes) and the segmentation models
fcn_resnet50 / deeplabv3_mobilenet_v3_large / lraspp_mobilenet_v3_large (their "out"); random weights from the seed,
randomized batch-norm statistics and affine parameters, eval mode; input "input" and output "output" with a dynamic
batch axis. Other names fall back to tests/oracle/torch_oracle.py's build_model (the zoo of ops_zoo.py).
"""
import io
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reference_lenet5 import LeNet5  # noqa: E402


class ConcatClip(nn.Module):
    """Two branches concatenated on channels, ReLU6 (Clip 0..6), a BatchNorm that cannot fold into a Conv
    (it follows the Concat), a Clip(-1, 1), a per-channel Mul and Add by constants, then a classifier."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(8)
        self.scale = nn.Parameter(torch.rand(1, 8, 1, 1) + 0.5)
        self.shift = nn.Parameter(torch.randn(1, 8, 1, 1) * 0.1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        y = torch.cat([F.relu6(self.a(x)), torch.clamp(self.b(x), -1.0, 1.0)], 1)
        y = self.bn(y) * self.scale + self.shift
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return F.softmax(self.fc(y), dim=1)


class PadConv(nn.Module):
    """Asymmetric zero padding (F.pad) before a strided Conv, symmetric before an AveragePool, then a
    Sigmoid and a Tanh, and a MatMul by a weight (no bias) at the end. Input [N, 3, 8, 8]."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2)
        self.weight = nn.Parameter(torch.randn(6 * 3 * 3, num_classes) * 0.1)

    def forward(self, x):
        y = torch.sigmoid(self.conv(F.pad(x, (0, 1, 1, 0))))
        y = torch.tanh(F.avg_pool2d(F.pad(y, (1, 1, 1, 1)), 2, stride=2))
        return torch.matmul(y.flatten(1), self.weight)


class Gated(nn.Module):
    """Gating: Mul of two computed tensors of one shape, y * sigmoid(conv(y)), and a square y * y (one tensor
    as both operands), then a classifier. Input [N, 3, 8, 8]."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = y * torch.sigmoid(self.gate(y))
        y = y * y
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


class SegmentationOut(nn.Module):
    """A torchvision segmentation model returns {"out": ..., "aux": ...}; the export keeps "out"."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


LOCAL_MODELS = {"concat_clip": ConcatClip, "pad_conv": PadConv, "gated": Gated}
SEGMENTATION = ("fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")


def randomize_batch_norms(model, gen):
    """Non-trivial running statistics and affine parameters, so batch norm is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.25)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def build(arch, num_classes=1000, seed=0):
    """The seeded model in eval mode (see the module docstring)."""
    import torchvision

    torch.manual_seed(seed)
    if arch in LOCAL_MODELS:
        model = LOCAL_MODELS[arch](num_classes)
    elif arch == "lenet5":
        model = LeNet5()
    elif arch in SEGMENTATION:
        # weights_backbone=None: torchvision 0.14 would otherwise download ImageNet weights for the backbone.
        model = SegmentationOut(getattr(torchvision.models.segmentation, arch)(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False))
    elif hasattr(torchvision.models, arch) and arch[0].islower():
        kwargs = {"weights": None, "num_classes": num_classes}
        if arch in ("googlenet", "inception_v3"):
            kwargs["aux_logits"] = False  # eval mode ignores them; without, their layers are dead weights in the file
            # PyTorch's layer defaults: torchvision's own init (truncated normal, std 0.1 for inception_v3) grows the
            # activations ~5x per conv, to logits of 1e15 whose comparison says little.
            kwargs["init_weights"] = False
        model = getattr(torchvision.models, arch)(**kwargs)
    else:
        import torch_oracle  # noqa: the oracle's zoo (allconvnet, ...); imported late: it redirects stdout

        return torch_oracle.build_model(arch, {"seed": seed, "num_classes": num_classes})
    randomize_batch_norms(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def export(job):
    model = build(str(job["arch"]), int(job.get("num_classes", 1000)), int(job.get("seed", 0)))
    shape = [int(d) for d in job["input_shape"]]
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(*shape), buf, opset_version=int(job["opset"]),
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with open(str(job["path"]), "wb") as f:
        f.write(buf.getvalue())
    result = {"param_count": sum(p.numel() for p in model.parameters())}
    try:
        import onnx

        result["op_types"] = sorted({n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node})
    except ImportError:
        result["op_types"] = []
    return result


def main():
    jobs = json.load(sys.stdin)
    protocol = sys.stdout
    sys.stdout = sys.stderr  # torch's export warnings must not mix with the reply
    torch.set_num_threads(1)
    results = []
    for job in jobs:
        try:
            results.append(export(job))
        except Exception as exc:  # one model that does not export does not stop the others
            results.append({"error": "%s: %s" % (type(exc).__name__, exc)})
        sys.stderr.write("exported %s opset %s: %s\n" % (job.get("arch"), job.get("opset"), results[-1]))
    json.dump(results, protocol)
    protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
