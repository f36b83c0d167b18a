#!/usr/bin/python3
"""Writes every zoo architecture the way a PyTorch user would hand it to CnnNative: the torchvision (or
reference torch) model with random weights and randomized batch-norm statistics, in eval mode, saved as a
safetensors state dict (<name>.safetensors) and exported with torch.onnx.export (<name>.onnx, dynamic
batch). Used by tests/verify/verify_zoo.sh; run with Debian's /usr/bin/python3 (python3-torch,
python3-torchvision, python3-onnx).

usage: export_zoo.py OUT_DIR OPSET NAME:N,C,H,W[:CLASSES] ...
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))

import torch  # noqa: E402

import torch_oracle as oracle  # noqa: E402  (registers the zoo models)


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    out_dir, opset = argv[1], int(argv[2])
    os.makedirs(out_dir, exist_ok=True)
    for spec in argv[3:]:
        parts = spec.split(":")
        name, shape = parts[0], [int(d) for d in parts[1].split(",")]
        args = {"seed": 0}
        if len(parts) > 2:
            args["num_classes"] = int(parts[2])
        model = oracle.build_model(name, args)
        oracle.write_safetensors(os.path.join(out_dir, name + ".safetensors"), list(model.state_dict().items()))
        with torch.no_grad():
            torch.onnx.export(model, torch.zeros(*shape), os.path.join(out_dir, name + ".onnx"),
                              opset_version=opset, input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        sys.stderr.write("exported %s %s\n" % (name, shape))  # the oracle module sends stdout to stderr
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
