#!/usr/bin/python3
"""Writes the fuzz seed corpus: corpus/<target>/ holds small valid files and near-valid variants of them
(the committed files are this script's output; re-run it with Debian's python3 and python3-onnx to regenerate).
Kept tiny on purpose: afl mutates small inputs much faster, and coverage comes from the structure, not size."""
import gzip, json, os, struct, sys

import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors: 8-byte LE header length, JSON header, raw data -----------------------------------
def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


f32 = np.arange(6, dtype=np.float32).reshape(2, 3)
write("safetensors", "f32_two.safetensors", safetensors(
    {"w": ("F32", [2, 3], f32.tobytes()), "b": ("F32", [3], np.ones(3, np.float32).tobytes())}, {"format": "pt"}))
write("safetensors", "f16_bf16.safetensors", safetensors(
    {"h": ("F16", [2, 2], np.array([1, -2, 0.5, 65504], np.float16).tobytes()),
     "bf": ("BF16", [2], struct.pack("<HH", 0x3f80, 0xc000))}))
write("safetensors", "f64_i64_scalar.safetensors", safetensors(
    {"d": ("F64", [1, 2], np.array([1.5, -3], np.float64).tobytes()),
     "num_batches_tracked": ("I64", [], struct.pack("<q", 7))}))
write("safetensors", "empty.safetensors", safetensors({}, {"format": "pt"}))
# Near-valid: overlapping offsets, a hole, an unknown dtype, a truncated body.
write("safetensors", "near_overlap.safetensors",
      struct.pack("<Q", 90) + b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}'[:90] + b"\0" * 8)
write("safetensors", "near_dtype.safetensors", safetensors({"q": ("I8", [2], b"\1\2")}))
write("safetensors", "near_truncated.safetensors", safetensors({"w": ("F32", [2, 3], f32.tobytes())})[:-5])

# ---- IDX: big-endian magic, dims, unsigned bytes ---------------------------------------------------
images = struct.pack(">iiii", 0x803, 2, 4, 4) + bytes(range(32))
labels = struct.pack(">ii", 0x801, 3) + bytes([0, 9, 4])
write("idx", "images_2x4x4.idx3", images)
write("idx", "labels_3.idx1", labels)
write("idx", "images_2x4x4.idx3.gz", gzip.compress(images, mtime=0))
write("idx", "labels_3.idx1.gz", gzip.compress(labels, mtime=0))
write("idx", "near_trailing.idx1", labels + b"\0")
write("idx", "near_huge_dims.idx3.gz", gzip.compress(struct.pack(">iiii", 0x803, 60000, 28, 28) + bytes(16), mtime=0))

# ---- ONNX: tiny graphs over the supported operators ------------------------------------------------
def model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_seeds")
    m.ir_version = 7
    return m.SerializeToString()


rng = np.random.default_rng(0)
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])
write("onnx", "conv_relu_pool_gemm.onnx", model(
    [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
     helper.make_node("Relu", ["c"], ["r"]),
     helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
     helper.make_node("Flatten", ["p"], ["f"], axis=1),
     helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1)],
    [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    {"cw": rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "cb": np.zeros(2, np.float32),
     "gw": rng.standard_normal((3, 18)).astype(np.float32), "gb": np.zeros(3, np.float32)}))
write("onnx", "bn_add_avgpool.onnx", model(
    [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"]),
     helper.make_node("Add", ["n", "x"], ["a"]),
     helper.make_node("GlobalAveragePool", ["a"], ["y"])],
    [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 1, 1])],
    {"s": np.ones(1, np.float32), "b": np.zeros(1, np.float32), "m": np.zeros(1, np.float32), "v": np.ones(1, np.float32)}))
write("onnx", "reshape_matmul_softmax.onnx", model(
    [helper.make_node("Reshape", ["x", "shape"], ["r"]),
     helper.make_node("MatMul", ["r", "w"], ["m"]),
     helper.make_node("Softmax", ["m"], ["y"], axis=1)],
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    {"shape": np.array([-1, 36], np.int64), "w": rng.standard_normal((36, 4)).astype(np.float32)}))
write("onnx", "near_unknown_op.onnx", model(
    [helper.make_node("Frobnicate", ["x"], ["y"])], [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 6, 6])], {}))
write("onnx", "near_opset9.onnx", model(
    [helper.make_node("Relu", ["x"], ["y"])], [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 6, 6])], {}, opset=9))

# ---- the CLI's model card (what `cnn train` writes beside best.safetensors) -------------------------
card = {"model": "lenet5", "normalization_mean": 0.286, "normalization_std": 0.353, "best_epoch": 2, "epochs_run": 3,
        "best_validation_loss": 0.31, "test_accuracy": 0.89, "command": "cnn train --model lenet5 --epochs 3"}
write("modelcard", "card.json", (json.dumps(card, indent=2) + "\n").encode())
write("modelcard", "card_nulls.json", json.dumps(dict(card, best_validation_loss=None, test_accuracy=None)).encode())
# Findings (accepted by ModelCard.TryLoad before its checks, then failed in eval/infer): kept as regression inputs.
write("modelcard/findings", "zero_std.json", json.dumps(dict(card, normalization_std=0.0)).encode())
write("modelcard/findings", "missing_model.json", json.dumps({k: v for k, v in card.items() if k != "model"}).encode())
write("modelcard", "near_string_number.json", json.dumps(dict(card, best_epoch="2")).encode())
write("modelcard", "near_truncated.json", json.dumps(card).encode()[:40])
write("modelcard/findings", "null.json", b"null")
print("seeds written to", ROOT, file=sys.stderr)
