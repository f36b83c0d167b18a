"""ops_onnx.py — the ONNX side of the oracle (registered by torch_oracle.py through register()).

Two references for CnnNative.Onnx:
  * torch itself: a model is built in torch, exported with torch.onnx.export, and torch's own output is
    the expected value (onnx_export);
  * a small reference interpreter (run_graph below) that reads any ONNX file with the onnx package
    (Debian python3-onnx 1.12) and evaluates it node by node with torch functional ops, in float64. It is
    the oracle for files torch did not write (hand-made graphs, `cnn verify --onnx`); onnxruntime is not
    available here.

Ops:
    onnx_export  [input]   arch (lenet5 | concat_clip | pad_conv | gated | any name of torch_oracle.build_model /
                           its ZOO_MODELS | a torchvision classifier), num_classes, seed, opset, path,
                           input_shape (the export's example input): writes the ONNX file (eval mode,
                           dynamic batch axis, input "input", output "output"); replies "output" = the torch
                           model on "input", "param_count", "op_types" (sorted, of the exported graph)
    onnx_graph             graph (a name of GRAPHS), opset, path: writes a hand-made ONNX graph (random
                           weights from args.seed); replies "op_types", "input_shape"
    onnx_run     inputs    path: evaluates the file with run_graph; replies every graph output by name
    onnx_perturb           path, out, delta: writes a copy of the file with delta added to element 0 of the
                           first float initializer; replies "name" (that initializer)
    weights_forward input  model (a name as for onnx_export's arch), num_classes, path: the torch model with
                           the safetensors file loaded (strict); replies "output" (`cnn verify --weights`)
"""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    ONNX_ERROR = None
except ImportError as exc:  # the other oracle ops keep working; the onnx_* ops report this
    ONNX_ERROR = "the onnx package is not available (%s); install it: sudo apt-get install python3-onnx" % exc

# ------------------------------------------------------------------------------------------------
# Small torch models for operators the zoo models do not export
# ------------------------------------------------------------------------------------------------


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


LOCAL_MODELS = {"concat_clip": ConcatClip, "pad_conv": PadConv, "gated": Gated}


def build(oracle, args):
    arch = str(args["arch"])
    seed = int(args.get("seed", 0))
    if arch in LOCAL_MODELS:
        torch.manual_seed(seed)
        model = LOCAL_MODELS[arch](int(args.get("num_classes", 10)))
    elif arch in ("lenet5", "basic_block", "composite") or arch in getattr(oracle, "ZOO_MODELS", {}):
        return oracle.build_model(arch, args)
    else:
        import torchvision

        if not hasattr(torchvision.models, arch):
            raise ValueError("unknown model %r" % arch)
        torch.manual_seed(seed)
        model = getattr(torchvision.models, arch)(num_classes=int(args.get("num_classes", 1000)))
    oracle.randomize_batch_norms(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def op_types(model):
    return sorted({n.op_type for n in model.graph.node})


# ------------------------------------------------------------------------------------------------
# Hand-made graphs (attributes torch never exports)
# ------------------------------------------------------------------------------------------------


def _w(gen, name, *shape):
    return numpy_helper.from_array((torch.randn(*shape, generator=gen) * 0.3).numpy().astype(np.float32), name)


def graph_conv_auto_pad(gen, mode):
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", auto_pad=mode, strides=[2, 1],
                              kernel_shape=[3, 4]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return nodes, [_w(gen, "w", 5, 3, 3, 4), _w(gen, "b", 5)], [2, 3, 7, 9]


def graph_conv_asym(gen):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[0, 2, 1, 1], dilations=[2, 1], group=3),
             helper.make_node("MaxPool", ["c"], ["p"], name="pool", kernel_shape=[2, 2], pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("Clip", ["p", "lo", "hi"], ["y"], name="clip")]
    inits = [_w(gen, "w", 6, 1, 3, 3), numpy_helper.from_array(np.array(-0.2, np.float32), "lo"),
             numpy_helper.from_array(np.array(0.3, np.float32), "hi")]
    return nodes, inits, [1, 3, 9, 8]


def graph_conv1d(gen):
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv1d", pads=[1, 2], strides=[2]),
             helper.make_node("Tanh", ["c"], ["y"], name="tanh")]
    return nodes, [_w(gen, "w", 4, 2, 3), _w(gen, "b", 4)], [2, 2, 11]


def graph_linear(gen):
    """Gemm with transB=0, MatMul, Mul by a scalar, Add of a row vector, Softmax on axis 1 of 2-D."""
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="gemm", transB=0),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["m"], name="matmul"),
             helper.make_node("Mul", ["m", "s"], ["ms"], name="scale"),
             helper.make_node("Add", ["ms", "b2"], ["a"], name="shift"),
             helper.make_node("Softmax", ["a"], ["y"], name="softmax", axis=1)]
    inits = [_w(gen, "w1", 6, 5), _w(gen, "b1", 5), _w(gen, "w2", 5, 4),
             numpy_helper.from_array(np.array([1.5], np.float32), "s"), _w(gen, "b2", 1, 4)]
    return nodes, inits, [3, 6]


def graph_softmax_axis(gen):
    """Softmax over axis 1 of a 4-D tensor: before opset 13 that is over the flattened C*H*W."""
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
             helper.make_node("Softmax", ["r"], ["y"], name="softmax", axis=1)]
    inits = [numpy_helper.from_array(np.array([0, 3, -1, 2], np.int64), "shape")]
    return nodes, inits, [2, 3, 4, 2]


def _c(name, *values_and_shape):
    """A float constant initializer from an explicit array."""
    return numpy_helper.from_array(np.asarray(values_and_shape[0], np.float32).reshape(values_and_shape[1]), name)


def graph_broadcast(gen):
    """Add / Mul with numpy broadcasting, x [N, 3, 4, 5]: per-channel constants [3, 1, 1] and [1, 3, 1, 1] (the
    constant first), a scalar [], [N, 1, H, W] * [N, C, 1, 1] of two computed values, a constant [1, 3, 1, 5] and
    [3, 4, 5], and [N, C, H, W] + [N, C, 1, 1] computed, with a Relu after it."""
    nodes = [helper.make_node("Add", ["x", "c_chw"], ["a"], name="add_c11"),
             helper.make_node("Mul", ["c_1c11", "a"], ["b"], name="mul_1c11"),
             helper.make_node("Add", ["b", "s"], ["c"], name="add_scalar"),
             helper.make_node("Conv", ["x", "w1"], ["g1"], name="squeeze_c"),
             helper.make_node("GlobalAveragePool", ["x"], ["g2"], name="gap"),
             helper.make_node("Mul", ["g1", "g2"], ["m"], name="mul_n1hw_nc11"),
             helper.make_node("Add", ["c", "m"], ["e"], name="add_same"),
             helper.make_node("Mul", ["e", "c_1c1w"], ["f"], name="mul_1c1w"),
             helper.make_node("Add", ["f", "c_chw2"], ["h"], name="add_chw"),
             helper.make_node("Add", ["h", "g2"], ["r"], name="add_nc11"),
             helper.make_node("Relu", ["r"], ["y"], name="relu")]
    inits = [_w(gen, "c_chw", 3, 1, 1), _w(gen, "c_1c11", 1, 3, 1, 1), _c("s", 0.75, []), _w(gen, "w1", 1, 3, 1, 1),
             _w(gen, "c_1c1w", 1, 3, 1, 5), _w(gen, "c_chw2", 3, 4, 5)]
    return nodes, inits, [2, 3, 4, 5]


def graph_pool(op, shape, **attrs):
    """One MaxPool / AveragePool of x (the attributes torch never exports: asymmetric pads, auto_pad)."""
    return lambda gen: ([helper.make_node(op, ["x"], ["y"], name=op.lower(), **attrs)], [], shape)


def graph_pad_avgpool(gen):
    """A zero Pad (its zeros are data, counted) folded into an AveragePool with pads of its own that count_include_pad=0
    excludes."""
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
             helper.make_node("AveragePool", ["p"], ["y"], name="avgpool", kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 0, 0, 1])]
    return nodes, [numpy_helper.from_array(np.array([0, 0, 0, 1, 0, 0, 2, 0], np.int64), "pads")], [2, 2, 7, 6]


def graph_gemm_scaled(gen):
    """Gemm alpha 0.5, beta 2 with C [5]; Relu; Gemm transB=1, alpha 1.5, beta -0.5 with C [M, 1]; Gemm beta 0.25 with
    C [M, N] (M = 3)."""
    nodes = [helper.make_node("Gemm", ["x", "w1", "c1"], ["h"], name="gemm_ab", alpha=0.5, beta=2.0),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Gemm", ["r", "w2", "c2"], ["g"], name="gemm_tb_m1", transB=1, alpha=1.5, beta=-0.5),
             helper.make_node("Gemm", ["g", "w3", "c3"], ["y"], name="gemm_mn", beta=0.25)]
    inits = [_w(gen, "w1", 6, 5), _w(gen, "c1", 5), _w(gen, "w2", 4, 5), _w(gen, "c2", 3, 1), _w(gen, "w3", 4, 2),
             _w(gen, "c3", 3, 2)]
    return nodes, inits, [3, 6]


def graph_gemm_trans_a(gen):
    """Gemm transA=1 (x [K=6, M=3]) with alpha 2 and C [1, 5]; Tanh; Gemm transA=1, transB=1 with beta 0.5 and a scalar
    C; Gemm transA=1 without C."""
    nodes = [helper.make_node("Gemm", ["x", "w1", "c1"], ["h"], name="gemm_ta", transA=1, alpha=2.0),
             helper.make_node("Tanh", ["h"], ["t"], name="tanh"),
             helper.make_node("Gemm", ["t", "w2", "c2"], ["g"], name="gemm_ta_tb", transA=1, transB=1, beta=0.5),
             helper.make_node("Gemm", ["g", "w3"], ["y"], name="gemm_ta_noc", transA=1)]
    inits = [_w(gen, "w1", 6, 5), _w(gen, "c1", 1, 5), _w(gen, "w2", 4, 3), _c("c2", 0.3, []), _w(gen, "w3", 5, 2)]
    return nodes, inits, [6, 3]


GRAPHS = {
    "broadcast": graph_broadcast,
    "maxpool_asym": graph_pool("MaxPool", [2, 3, 7, 8], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
    "maxpool_asym_dilated_ceil": graph_pool("MaxPool", [2, 2, 9, 8], kernel_shape=[2, 3], strides=[2, 2],
                                            dilations=[2, 1], pads=[1, 0, 0, 1], ceil_mode=1),
    "maxpool_same_upper": graph_pool("MaxPool", [1, 3, 6, 7], kernel_shape=[2, 2], strides=[1, 1],
                                     auto_pad="SAME_UPPER"),
    "avgpool_asym_exclude": graph_pool("AveragePool", [2, 3, 7, 8], kernel_shape=[2, 3], strides=[2, 2],
                                       pads=[1, 0, 0, 2]),
    "avgpool_asym_include": graph_pool("AveragePool", [2, 3, 7, 8], kernel_shape=[3, 2], strides=[1, 2],
                                       pads=[0, 1, 2, 1], count_include_pad=1),
    "avgpool_asym_ceil": graph_pool("AveragePool", [1, 2, 8, 9], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[0, 1, 1, 0], ceil_mode=1, count_include_pad=1),
    "avgpool_wide_pads": graph_pool("AveragePool", [1, 2, 6, 6], kernel_shape=[3, 3], strides=[2, 2],
                                    pads=[2, 2, 2, 2]),
    "avgpool_same_lower": graph_pool("AveragePool", [2, 2, 6, 7], kernel_shape=[4, 3], strides=[2, 2],
                                     auto_pad="SAME_LOWER"),
    "avgpool1d_asym": graph_pool("AveragePool", [2, 3, 11], kernel_shape=[4], strides=[3], pads=[2, 0]),
    "pad_avgpool_mixed": graph_pad_avgpool,
    "gemm_scaled": graph_gemm_scaled,
    "gemm_trans_a": graph_gemm_trans_a,

    "conv_same_upper": lambda g: graph_conv_auto_pad(g, "SAME_UPPER"),
    "conv_same_lower": lambda g: graph_conv_auto_pad(g, "SAME_LOWER"),
    "conv_valid": lambda g: graph_conv_auto_pad(g, "VALID"),
    "conv_asym": graph_conv_asym,
    "conv1d": graph_conv1d,
    "linear": graph_linear,
    "softmax_axis": graph_softmax_axis,
}


def make_graph_model(name, opset, seed):
    if name not in GRAPHS:
        raise ValueError("unknown graph %r (%s)" % (name, ", ".join(sorted(GRAPHS))))
    nodes, inits, shape = GRAPHS[name](torch.Generator().manual_seed(seed))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch"] + shape[1:])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="ops_onnx.py")
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    return model, shape


# ------------------------------------------------------------------------------------------------
# The reference interpreter
# ------------------------------------------------------------------------------------------------


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _spatial_pads(a, x, kernel, strides, dilations):
    """Per-side pads (begin..., end...) from pads / auto_pad, as the ONNX spec defines them."""
    rank = len(kernel)
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode == "VALID":
        return [0] * (2 * rank)
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * rank)
        for i in range(rank):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size)
            small = total // 2
            pads[i] = small if mode == "SAME_UPPER" else total - small
            pads[i + rank] = total - pads[i]
        return pads
    return list(a.get("pads", [0] * (2 * rank)))


def _torch_pad(pads):
    """ONNX (begin..., end...) for the spatial dims -> F.pad's (last_begin, last_end, ..., first_begin, first_end)."""
    rank = len(pads) // 2
    out = []
    for i in reversed(range(rank)):
        out += [pads[i], pads[i + rank]]
    return out


def _conv(node, a, v):
    x, w = v[0], v[1]
    b = v[2] if len(v) > 2 else None
    rank = w.dim() - 2
    kernel = list(w.shape[2:])
    strides = a.get("strides", [1] * rank)
    dil = a.get("dilations", [1] * rank)
    x = F.pad(x, _torch_pad(_spatial_pads(a, x, kernel, strides, dil)))
    conv = F.conv1d if rank == 1 else F.conv2d
    return conv(x, w, b, stride=strides, dilation=dil, groups=a.get("group", 1))


def _pool_direct(x, kind, kernel, strides, dil, pads, ceil, count_include_pad):
    """ONNX pooling straight from its definition, window by window (any pads): the output size is floor((in + pads -
    dilation*(kernel-1) - 1) / stride) + 1, with ceil_mode the ceiling, a last window starting in the end padding
    dropped (as torch and onnxruntime); max over the taps inside the input (pads are -inf); average = sum of those taps
    / their count, or / the taps inside the padded extent [-begin, in + end) with count_include_pad."""
    rank = len(kernel)
    spatial = list(x.shape[2:])
    outs = []
    for i in range(rank):
        span = spatial[i] + pads[i] + pads[i + rank] - dil[i] * (kernel[i] - 1) - 1
        o = (-(-span // strides[i]) if ceil else span // strides[i]) + 1
        if ceil and (o - 1) * strides[i] >= spatial[i] + pads[i]:
            o -= 1
        outs.append(o)
    y = torch.empty(list(x.shape[:2]) + outs, dtype=x.dtype)
    for pos in np.ndindex(*outs):
        taps, counted = [], 1
        for i in range(rank):
            start = pos[i] * strides[i] - pads[i]
            idx = [start + k * dil[i] for k in range(kernel[i])]
            taps.append([j for j in idx if 0 <= j < spatial[i]])
            lo, hi = (-pads[i], spatial[i] + pads[i + rank]) if count_include_pad else (0, spatial[i])
            counted *= sum(1 for j in idx if lo <= j < hi)
        window = x[(slice(None), slice(None)) + np.ix_(*taps)] if all(taps) else None
        if kind == "max":
            y[(slice(None), slice(None)) + pos] = (window.amax(dim=tuple(range(2, 2 + rank))) if window is not None
                                                   else float("-inf"))
        else:
            total = window.sum(dim=tuple(range(2, 2 + rank))) if window is not None else 0.0
            y[(slice(None), slice(None)) + pos] = total / counted if counted else float("nan")
    return y


def _pool(node, a, v, kind):
    x = v[0]
    kernel = a["kernel_shape"]
    rank = len(kernel)
    strides = a.get("strides", [1] * rank)
    dil = a.get("dilations", [1] * rank)
    pads = _spatial_pads(a, x, kernel, strides, dil)
    ceil = bool(a.get("ceil_mode", 0))
    cip = bool(a.get("count_include_pad", 0))
    if pads[:rank] == pads[rank:] and all(p <= k // 2 for p, k in zip(pads[:rank], kernel)):
        sym = pads[:rank]
        if kind == "max":
            fn = F.max_pool1d if rank == 1 else F.max_pool2d
            return fn(x, kernel, strides, sym, dil, ceil_mode=ceil)
        fn = F.avg_pool1d if rank == 1 else F.avg_pool2d
        return fn(x, kernel, strides, sym, ceil_mode=ceil, count_include_pad=cip)
    return _pool_direct(x, kind, kernel, strides, dil, pads, ceil, cip)


def _softmax(node, a, v, opset, fn):
    x = v[0]
    axis = a.get("axis", 1 if opset < 13 else -1)
    axis = axis + x.dim() if axis < 0 else axis
    if opset >= 13:
        return fn(x, dim=axis)
    return fn(x.reshape(int(np.prod(x.shape[:axis])), -1), dim=1).reshape(x.shape)


def _reshape(x, shape):
    shape = [int(x.shape[i]) if d == 0 else int(d) for i, d in enumerate(shape.tolist())]
    return x.reshape(shape)


def _gemm(a, v):
    A = v[0].t() if a.get("transA", 0) else v[0]
    B = v[1].t() if a.get("transB", 0) else v[1]
    y = a.get("alpha", 1.0) * (A @ B)
    return y + a.get("beta", 1.0) * v[2] if len(v) > 2 and v[2] is not None else y


def _constant(node, a):
    if "value" in a:
        return torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
    for key in ("value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            return torch.tensor(a[key])
    raise ValueError("reference: unsupported Constant %s" % node.name)


def _pad(a, v):
    pads = [int(p) for p in v[1].tolist()]
    value = float(v[2]) if len(v) > 2 and v[2] is not None else 0.0
    rank = len(pads) // 2
    flat = []
    for i in reversed(range(rank)):
        flat += [pads[i], pads[i + rank]]
    return F.pad(v[0], flat, value=value)


def _clip(v):
    lo = v[1] if len(v) > 1 and v[1] is not None else None
    hi = v[2] if len(v) > 2 and v[2] is not None else None
    return torch.clamp(v[0], None if lo is None else float(lo), None if hi is None else float(hi))


CAST_TYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 11: torch.float64}


def _slice(v):
    """ONNX Slice (negative steps too: torch's own F.pad export reverses its pads with one) through numpy."""
    x = v[0].numpy()
    starts, ends = v[1].tolist(), v[2].tolist()
    axes = v[3].tolist() if len(v) > 3 and v[3] is not None else list(range(len(starts)))
    steps = v[4].tolist() if len(v) > 4 and v[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[axis] = slice(start, end, step)
    return torch.from_numpy(np.ascontiguousarray(x[tuple(index)]))


def _squeeze(op, x, axes):
    if op == "Unsqueeze":
        for axis in sorted(a + x.dim() + 1 if a < 0 else a for a in axes):
            x = x.unsqueeze(axis)
        return x
    return x.squeeze() if axes is None else x.squeeze(*[a + x.dim() if a < 0 else a for a in axes])


def _flatten(a, x):
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _batch_norm(a, v):
    return F.batch_norm(v[0], v[3], v[4], v[1], v[2], False, 0.0, a.get("epsilon", 1e-5))


def _evaluate(node, a, v, opset):
    """One node: the ONNX operator through torch (inputs v: torch tensors or None for absent ones)."""
    op = node.op_type
    if op == "Conv":
        return _conv(node, a, v)
    if op in ("MaxPool", "AveragePool"):
        return _pool(node, a, v, "max" if op == "MaxPool" else "avg")
    if op == "Softmax":
        return _softmax(node, a, v, opset, F.softmax)
    if op == "LogSoftmax":
        return _softmax(node, a, v, opset, F.log_softmax)
    if op == "Reshape":
        return _reshape(v[0], v[1])
    if op == "Gemm":
        return _gemm(a, v)
    if op == "Constant":
        return _constant(node, a)
    if op == "Pad":
        return _pad(a, v)
    if op == "Clip":
        return _clip(v)
    if op == "Flatten":
        return _flatten(a, v[0])
    if op == "Concat":
        return torch.cat(v, a["axis"])
    if op == "BatchNormalization":
        return _batch_norm(a, v)
    if op == "ConstantOfShape":
        value = torch.from_numpy(numpy_helper.to_array(a["value"]).copy()) if "value" in a else torch.zeros(1)
        return value.reshape(1).expand(*[int(d) for d in v[0].tolist()]).clone()
    if op == "Slice":
        return _slice(v)
    if op == "Cast":
        return v[0].to(CAST_TYPES[a["to"]])
    if op == "Transpose":
        return v[0].permute(*a.get("perm", list(reversed(range(v[0].dim())))))
    if op in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", v[1].tolist() if len(v) > 1 and v[1] is not None else None)
        return _squeeze(op, v[0], axes)
    simple = {
        "Relu": lambda: torch.relu(v[0]), "Sigmoid": lambda: torch.sigmoid(v[0]), "Tanh": lambda: torch.tanh(v[0]),
        "GlobalAveragePool": lambda: v[0].mean(dim=tuple(range(2, v[0].dim())), keepdim=True),
        "MatMul": lambda: v[0] @ v[1], "Add": lambda: v[0] + v[1], "Mul": lambda: v[0] * v[1],
        "Identity": lambda: v[0], "Dropout": lambda: v[0],
    }
    if op not in simple:
        raise ValueError("reference interpreter: operator %s (node %s) is not implemented" % (op, node.name))
    return simple[op]()


def run_graph(model, inputs, dtype=torch.float64):
    """Evaluates an onnx.ModelProto on {name: tensor}; returns {output name: tensor}."""
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    env = {}
    for init in model.graph.initializer:
        t = torch.from_numpy(numpy_helper.to_array(init).copy())
        env[init.name] = t.to(dtype) if t.is_floating_point() else t
    env.update({k: t.to(dtype) for k, t in inputs.items()})
    for node in model.graph.node:  # ONNX files list nodes in a topological order
        a = _attrs(node)
        v = [env[i] if i else None for i in node.input]
        out = _evaluate(node, a, v, opset)
        out = out.to(dtype) if out.is_floating_point() else out
        env[node.output[0]] = out
    return {o.name: env[o.name] for o in model.graph.output}


# ------------------------------------------------------------------------------------------------
# Ops
# ------------------------------------------------------------------------------------------------


def register(oracle):
    """Adds the onnx_* ops to oracle.OPS (oracle: the torch_oracle module)."""

    def op_onnx_export(args, t):
        model = build(oracle, args)
        shape = [int(d) for d in args["input_shape"]]
        buf = io.BytesIO()
        with torch.no_grad():
            torch.onnx.export(model, torch.zeros(*shape), buf, opset_version=int(args["opset"]),
                              input_names=["input"], output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        with open(str(args["path"]), "wb") as f:
            f.write(buf.getvalue())
        out = []
        if "input" in t:
            out.append(("output", model.to(t["input"].dtype)(t["input"])))
        exported = onnx.load_from_string(buf.getvalue())
        oracle.reply_ok(out, param_count=sum(p.numel() for p in model.parameters()), op_types=op_types(exported))

    def op_onnx_graph(args, t):
        model, shape = make_graph_model(str(args["graph"]), int(args["opset"]), int(args.get("seed", 0)))
        onnx.save(model, str(args["path"]))
        oracle.reply_ok([], op_types=op_types(model), input_shape=shape)

    def op_onnx_run(args, t):
        model = onnx.load(str(args["path"]))
        outputs = run_graph(model, t, torch.float64 if str(args.get("dtype", "float64")) == "float64" else torch.float32)
        oracle.reply_ok(list(outputs.items()))

    def op_onnx_perturb(args, t):
        model = onnx.load(str(args["path"]))
        init = next(i for i in model.graph.initializer if i.data_type == TensorProto.FLOAT)
        a = numpy_helper.to_array(init).copy()
        a.flat[0] += float(args["delta"])
        init.CopyFrom(numpy_helper.from_array(a, init.name))
        onnx.save(model, str(args["out"]))
        oracle.reply_ok([], name=init.name)

    def op_weights_forward(args, t):
        model = build(oracle, dict(args, arch=args["model"]))
        state, _ = oracle.read_safetensors(str(args["path"]))
        model.load_state_dict(state, strict=True)
        x = t["input"]
        oracle.reply_ok([("output", model.to(x.dtype)(x))])

    ops = {"onnx_export": op_onnx_export, "onnx_graph": op_onnx_graph, "onnx_run": op_onnx_run, "onnx_perturb": op_onnx_perturb,
           "weights_forward": op_weights_forward}
    if ONNX_ERROR is not None:
        def unavailable(args, t):
            raise RuntimeError(ONNX_ERROR)

        ops = {name: unavailable for name in ops}
    oracle.OPS.update(ops)
