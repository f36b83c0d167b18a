#!/usr/bin/env python3
"""torch_oracle.py — the numerical oracle of the CnnNative test suite: real libtorch, as a server.

Run under Debian's python3 with python3-torch (``/usr/bin/python3``). The xunit fixture starts it
once per run and talks to it over stdin/stdout in binary; nothing is ever converted to text.

Protocol (both directions, repeated until stdin closes):
    uint32 little-endian  length of the header in bytes
    header                UTF-8 JSON
    payload               the raw little-endian bytes of every tensor the header lists, in order
                          (float32 unless the entry says "dtype": "I64")

Request header:  {"op": "conv2d", "args": {...}, "tensors": [{"name": "input", "shape": [1, 3, 8, 8]}, ...]}
Reply header:    {"ok": true, "tensors": [{"name": "output", "shape": [...]}], ...extra fields}
             or  {"ok": false, "error": "message"}     (a bad request never stops the server)

Ops (args in the header, tensors by name):
    ping                                   -> version, python, threads
    conv2d       input, weight[, bias]     stride [h,w], padding int|[h,w]|[top,bottom,left,right] (F.pad, then
                                           F.conv2d), dilation, groups, activation none|relu|sigmoid|tanh
    max_pool2d   input                     kernel, stride, padding, dilation, ceil_mode
    avg_pool2d   input                     kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    lp_pool2d    input                     norm_type, kernel, stride, ceil_mode
    adaptive_avg_pool2d input              output_size (1)
    batch_norm   input, running_mean, running_var[, weight][, bias]   eps, activation (eval mode)
    relu | sigmoid | tanh   input
    linear       input, weight[, bias]     activation
    softmax | log_softmax   input          dim
    add          a, b                      activation
    lenet5 | basic_block | composite [input]   seed (+ inplanes, planes, stride | in_channels, channels,
                                           classes): the seeded torch model (BatchNorm with random running
                                           stats and affine params); replies "output" and its state dict,
                                           args.path also writes the state dict as safetensors
    forward_state_dict  state dict + input  model (+ its args): load_state_dict(strict=True), run
    forward_safetensors input              model, path: read a CnnNative-written file by hand, strict load, run
    save_safetensors   [tensors]           path, model (+ args) or the request's tensors; written by hand
                                           (u64 LE header size, JSON header, LE data; num_batches_tracked I64)
    torchvision_model  [input]             arch resnet18|resnet34|resnet50, num_classes, seed[, path]: the
                                           torchvision model with random BN state; replies "keys" (state-dict
                                           order), "output" for an input; args.path writes the state dict
    zoo_model          [input]             arch alexnet|vgg11[_bn]|vgg16[_bn]|mobilenet_v2|googlenet|allconvnet|
                                           inception (see tests/oracle/ops_zoo.py), as torchvision_model
    weights_forward    input               model, path, num_classes: the zoo model with a safetensors file loaded
                                           (strict); replies "output" (`cnn verify --weights`; tests/oracle/ops_zoo.py)
    grad | batch_norm_train | cross_entropy | mse_loss | optim | lr_schedule | model_grad | train |
    clip_grad_norm
                                           training: autograd gradients, losses, BN training mode,
                                           torch.optim steps and schedulers, whole-model gradients and
                                           SGD runs (see "Training" below for their arguments)

Every op computes in float64 by default (args.dtype = "float32" to use torch's float32 kernels) and
replies in float32, so the errors the tests measure are CnnNative's own rounding, not torch's.

Anything printed to stdout by torch or by this file goes to stderr: stdout carries the protocol only.
"""
import json
import os
import struct
import sys
import traceback

# Keep the protocol stream private: the real stdout becomes PROTO_OUT, fd 1 points at stderr.
PROTO_OUT = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
PROTO_IN = sys.stdin.buffer

INSTALL_HINT = "sudo apt-get install python3-torch (and run the oracle with /usr/bin/python3)"

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    TORCH_ERROR = None
except Exception as exc:  # pragma: no cover - exercised only on a machine without torch
    torch = None
    TORCH_ERROR = "PyTorch is not available to %s (%s: %s); install it: %s" % (
        sys.executable, type(exc).__name__, exc, INSTALL_HINT)


# ------------------------------------------------------------------------------------------------
# Framing
# ------------------------------------------------------------------------------------------------

def read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = PROTO_IN.read(n - len(buf))
        if not chunk:
            return None
        buf.extend(chunk)
    return bytes(buf)


def numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


DTYPE_SIZES = {"F32": 4, "I64": 8}


def send(header, payloads=()):
    data = json.dumps(header).encode("utf-8")
    PROTO_OUT.write(struct.pack("<I", len(data)))
    PROTO_OUT.write(data)
    for p in payloads:
        PROTO_OUT.write(p)
    PROTO_OUT.flush()


def reply_ok(named_tensors, **extra):
    """named_tensors: list of (name, torch.Tensor); every tensor is sent as float32."""
    entries, payloads = [], []
    for name, t in named_tensors:
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4", copy=False)
        entries.append({"name": name, "shape": list(a.shape)})
        payloads.append(a.tobytes())
    header = {"ok": True, "tensors": entries}
    header.update(extra)
    send(header, payloads)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------

def pair(v, name):
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) for x in v):
        return (int(v[0]), int(v[1]))
    raise ValueError("%s must be an int or [h, w], got %r" % (name, v))


def quad(v, name):
    """Padding as (top, bottom, left, right)."""
    if isinstance(v, int):
        return (v, v, v, v)
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return (int(v[0]), int(v[0]), int(v[1]), int(v[1]))
    if isinstance(v, (list, tuple)) and len(v) == 4:
        return tuple(int(x) for x in v)
    raise ValueError("%s must be an int, [h, w] or [top, bottom, left, right], got %r" % (name, v))


def activate(x, name):
    name = (name or "none").lower()
    if name == "none":
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu6":
        return F.relu6(x)
    raise ValueError("unknown activation %r" % name)


def need(tensors, name):
    if name not in tensors:
        raise ValueError("missing tensor %r (got %s)" % (name, sorted(tensors)))
    return tensors[name]


# ------------------------------------------------------------------------------------------------
# Models (torchvision naming)
# ------------------------------------------------------------------------------------------------

if torch is not None:

    from reference_lenet5 import LeNet5  # noqa: E402 (shared with benchmarks/train_throughput.py)

    def conv3x3(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)

    def conv1x1(in_planes, out_planes, stride=1):
        return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)

    class BasicBlock(nn.Module):
        """torchvision.models.resnet.BasicBlock (same attribute names, same forward)."""

        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample
            self.stride = stride

        def forward(self, x):
            identity = x
            out = self.conv1(x)
            out = self.bn1(out)
            out = self.relu(out)
            out = self.conv2(out)
            out = self.bn2(out)
            if self.downsample is not None:
                identity = self.downsample(x)
            out += identity
            out = self.relu(out)
            return out

    def make_basic_block(inplanes, planes, stride):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
        return BasicBlock(inplanes, planes, stride, downsample)

    class Residual(nn.Module):
        """CnnNative.Nn.Residual: activation(main(x) + (shortcut(x) if there is one else x)).
        The child names are arguments so that the state-dict keys can follow the C# module."""

        def __init__(self, main, shortcut=None, activation="relu", main_name="main", shortcut_name="shortcut"):
            super().__init__()
            self.main_name, self.shortcut_name = main_name, shortcut_name
            self.add_module(main_name, main)
            if shortcut is not None:
                self.add_module(shortcut_name, shortcut)
            self.has_shortcut = shortcut is not None
            self.activation = activation

        def forward(self, x):
            s = getattr(self, self.shortcut_name)(x) if self.has_shortcut else x
            return activate(getattr(self, self.main_name)(x) + s, self.activation)

    def make_composite(args):
        """Sequential + Residual composition; structure mirrored by the C# composition test.

        0 Conv2d(c_in, c, 3, pad 1) 1 BatchNorm2d(c) 2 ReLU 3 MaxPool2d(3, stride 2, pad 1)
        4 Residual(main = Sequential(Conv2d(c, c, 3, pad 1, no bias), BatchNorm2d, ReLU,
                                      Conv2d(c, c, 3, pad 1, no bias), BatchNorm2d), relu)
        5 Residual(main = Sequential(Conv2d(c, 2c, 3, stride 2, pad 1, no bias), BatchNorm2d, ReLU,
                                      Conv2d(2c, 2c, 3, pad 1, no bias), BatchNorm2d),
                   shortcut = Sequential(Conv2d(c, 2c, 1, stride 2, no bias), BatchNorm2d(2c)), relu)
        6 AdaptiveAvgPool2d(1) 7 Flatten 8 Dropout(0.5) 9 Linear(2c, classes) 10 LogSoftmax(1)
        """
        c_in, c, classes = int(args.get("in_channels", 3)), int(args.get("channels", 8)), int(args.get("classes", 10))
        main_name = args.get("main_name", "main")
        shortcut_name = args.get("shortcut_name", "shortcut")

        def residual(main, shortcut=None):
            return Residual(main, shortcut, "relu", main_name, shortcut_name)

        return nn.Sequential(
            nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
            residual(nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                   nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))),
            residual(nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
                                   nn.ReLU(), nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(2 * c)),
                     nn.Sequential(nn.Conv2d(c, 2 * c, 1, stride=2, bias=False), nn.BatchNorm2d(2 * c))),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(2 * c, classes), nn.LogSoftmax(1))


if torch is not None:
    # Non-trivial running statistics and affine parameters, so BN is really tested (one copy, shared with the ONNX
    # fixture exporter tests/oracle/export_onnx.py).
    from export_onnx import randomize_batch_norms  # noqa: E402


# More models by name, filled by ops_zoo.register: name -> fn(args) building the torch module (called right
# after torch.manual_seed(seed)); build_model knows them too, so model_grad and train can use them.
ZOO_MODELS = {}


def build_model(name, args):
    seed = int(args.get("seed", 0))
    torch.manual_seed(seed)
    if name in ZOO_MODELS:
        model = ZOO_MODELS[name](args)
    elif name == "lenet5":
        model = LeNet5()
    elif name == "basic_block":
        model = make_basic_block(int(args["inplanes"]), int(args["planes"]), int(args.get("stride", 1)))
    elif name == "composite":
        model = make_composite(args)
    else:
        raise ValueError("unknown model %r (lenet5, basic_block, composite, %s)" % (name, ", ".join(sorted(ZOO_MODELS))))
    gen = torch.Generator().manual_seed(seed + 1)
    randomize_batch_norms(model, gen)
    model.eval()
    return model


def write_safetensors(path, named, int_as_i64=True):
    """Writes a safetensors file by hand: u64 LE header size, JSON header, raw LE data."""
    header, blobs, offset = {}, [], 0
    for name, t in named:
        t = t.detach().contiguous()
        if t.dtype == torch.int64 and int_as_i64:
            dtype, data = "I64", t.numpy().astype("<i8", copy=False).reshape(-1)
        else:
            dtype, data = "F32", t.to(torch.float32).numpy().astype("<f4", copy=False).reshape(-1)
        # numpy views, written through the buffer protocol: no extra copy of a 500 MB VGG state dict
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + data.nbytes]}
        blobs.append(data)
        offset += data.nbytes
    header["__metadata__"] = {"format": "pt", "writer": "tests/oracle/torch_oracle.py"}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return list(header.keys())[:-1]


# ------------------------------------------------------------------------------------------------
# Ops
# ------------------------------------------------------------------------------------------------

def op_ping(args, t):
    reply_ok([], version=torch.__version__, python=sys.version.split()[0], threads=torch.get_num_threads())


def op_conv2d(args, t):
    x, w, b = need(t, "input"), need(t, "weight"), t.get("bias")
    top, bottom, left, right = quad(args.get("padding", 0), "padding")
    x = F.pad(x, (left, right, top, bottom))
    y = F.conv2d(x, w, b, stride=pair(args.get("stride", 1), "stride"), padding=0,
                 dilation=pair(args.get("dilation", 1), "dilation"), groups=int(args.get("groups", 1)))
    reply_ok([("output", activate(y, args.get("activation")))])


def op_max_pool2d(args, t):
    k = pair(args["kernel"], "kernel")
    y = F.max_pool2d(need(t, "input"), k, stride=pair(args.get("stride", k), "stride"),
                     padding=pair(args.get("padding", 0), "padding"),
                     dilation=pair(args.get("dilation", 1), "dilation"), ceil_mode=bool(args.get("ceil_mode", False)))
    reply_ok([("output", y)])


def op_avg_pool2d(args, t):
    k = pair(args["kernel"], "kernel")
    d = args.get("divisor_override")
    y = F.avg_pool2d(need(t, "input"), k, stride=pair(args.get("stride", k), "stride"),
                     padding=pair(args.get("padding", 0), "padding"), ceil_mode=bool(args.get("ceil_mode", False)),
                     count_include_pad=bool(args.get("count_include_pad", True)),
                     divisor_override=None if d is None else int(d))
    reply_ok([("output", y)])


def op_lp_pool2d(args, t):
    k = pair(args["kernel"], "kernel")
    y = F.lp_pool2d(need(t, "input"), float(args["norm_type"]), k, stride=pair(args.get("stride", k), "stride"),
                    ceil_mode=bool(args.get("ceil_mode", False)))
    reply_ok([("output", y)])


def op_adaptive_avg_pool2d(args, t):
    reply_ok([("output", F.adaptive_avg_pool2d(need(t, "input"), int(args.get("output_size", 1))))])


def op_batch_norm(args, t):
    y = F.batch_norm(need(t, "input"), need(t, "running_mean"), need(t, "running_var"), t.get("weight"),
                     t.get("bias"), training=False, eps=float(args.get("eps", 1e-5)))
    reply_ok([("output", activate(y, args.get("activation")))])


def op_activation(name):
    def run(args, t):
        reply_ok([("output", activate(need(t, "input"), name))])
    return run


def op_linear(args, t):
    y = F.linear(need(t, "input"), need(t, "weight"), t.get("bias"))
    reply_ok([("output", activate(y, args.get("activation")))])


def op_softmax(args, t):
    reply_ok([("output", F.softmax(need(t, "input"), dim=int(args["dim"])))])


def op_log_softmax(args, t):
    reply_ok([("output", F.log_softmax(need(t, "input"), dim=int(args["dim"])))])


def op_add(args, t):
    reply_ok([("output", activate(need(t, "a") + need(t, "b"), args.get("activation")))])


def model_args(name, args):
    a = dict(args)
    a.setdefault("model", name)
    return a


def op_model(name):
    """Builds the torch model from args.seed; returns its state dict (float32) and, if the request
    has an "input" tensor, the output for it ("output"). With args.path also writes the state dict
    there as safetensors (as op save_safetensors)."""

    def run(args, t):
        model = build_model(name, args)
        sd = list(model.state_dict().items())
        if args.get("path"):
            write_safetensors(str(args["path"]), sd, bool(args.get("int_as_i64", True)))
        out = []
        if "input" in t:
            with torch.no_grad():
                out.append(("output", model.to(t["input"].dtype)(t["input"])))
        if args.get("return_state", True):
            out.extend(sd)
        reply_ok(out, keys=[k for k, _ in sd])
    return run


def op_forward_state_dict(args, t):
    """Runs a torch model whose state dict comes from C#: args.model names the structure; every
    request tensor except "input" is a state-dict entry. load_state_dict(strict=True), so the C#
    keys and shapes must be exactly torch's."""
    model = build_model(args["model"], args)
    ref = model.state_dict()
    sd = {}
    for k, v in t.items():
        if k == "input":
            continue
        if k in ref and ref[k].dtype == torch.int64:
            sd[k] = v.round().to(torch.int64).reshape(ref[k].shape)
        else:
            sd[k] = v.to(torch.float32)
    model.load_state_dict(sd, strict=True)
    x = need(t, "input")
    with torch.no_grad():
        y = model.to(x.dtype)(x)
    reply_ok([("output", y)])


def read_safetensors(path):
    """Reads a safetensors file by hand (F32, I64, F64): the check that a CnnNative-written file is
    what torch's safetensors loader expects (u64 LE header size, JSON header, contiguous data)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("%s: %d bytes, shorter than the 8-byte header size" % (path, len(blob)))
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("%s: header size %d exceeds the file" % (path, n))
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    kinds = {"F32": "<f4", "I64": "<i8", "F64": "<f8"}
    out, end_max = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        dt = np.dtype(kinds[info["dtype"]])
        if end - begin != numel(shape) * dt.itemsize or end > len(data):
            raise ValueError("%s: %s has offsets %r for shape %r %s" % (path, name, info["data_offsets"], shape, info["dtype"]))
        end_max = max(end_max, end)
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy())
    if end_max != len(data):
        raise ValueError("%s: data section is %d bytes but tensors end at %d" % (path, len(data), end_max))
    return out, header.get("__metadata__", {})


def op_forward_safetensors(args, t):
    """Loads args.path (written by CnnNative) into the torch model args.model with strict=True
    and dtypes checked against torch's own state dict; returns the output for "input"."""
    model = build_model(args["model"], args)
    ref = model.state_dict()
    sd, metadata = read_safetensors(str(args["path"]))
    for k, v in sd.items():
        if k in ref and ref[k].dtype != v.dtype:
            raise ValueError("%s: torch keeps %s as %s, the file has %s" % (args["path"], k, ref[k].dtype, v.dtype))
        if k in ref and tuple(ref[k].shape) != tuple(v.shape):
            raise ValueError("%s: torch's %s has shape %s, the file has %s" % (args["path"], k, list(ref[k].shape), list(v.shape)))
    model.load_state_dict(sd, strict=True)
    x = need(t, "input")
    with torch.no_grad():
        y = model.to(x.dtype)(x)
    reply_ok([("output", y)], keys=list(sd.keys()), metadata=metadata)


def op_save_safetensors(args, t):
    """Writes args.path. With args.model (lenet5 / basic_block / composite + their args) the torch
    model's state dict (num_batches_tracked as I64 unless int_as_i64 is false); otherwise the
    request's tensors as F32."""
    path = str(args["path"])
    if args.get("model"):
        model = build_model(args["model"], args)
        keys = write_safetensors(path, list(model.state_dict().items()), bool(args.get("int_as_i64", True)))
    else:
        keys = write_safetensors(path, [(k, v.to(torch.float32)) for k, v in t.items()])
    reply_ok([], keys=keys, path=path)


def op_torchvision_model(args, t):
    """torchvision.models.<args.arch>(num_classes=args.num_classes) (resnet18 / resnet34 / resnet50),
    built after torch.manual_seed(args.seed), with non-trivial BatchNorm state (running_mean ~ N(0, 0.1),
    running_var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5), bias ~ N(0, 0.1)), in eval mode. args.path writes
    its state dict as safetensors; replies the state-dict keys in order ("keys") and, for an "input"
    tensor, the logits ("output", computed in the input's dtype: float64 by default)."""
    import torchvision

    arch = str(args["arch"])
    if arch not in ("resnet18", "resnet34", "resnet50"):
        raise ValueError("unknown torchvision model %r (resnet18, resnet34, resnet50)" % arch)
    seed = int(args.get("seed", 0))
    torch.manual_seed(seed)
    serve_model(getattr(torchvision.models, arch)(num_classes=int(args.get("num_classes", 1000))), seed, args, t)


def serve_model(model, seed, args, t):
    """The reply of torchvision_model (and ops_zoo's zoo_model) for a freshly built model: random BN state
    (seeded by seed + 1), eval mode, args.path written, "keys", "param_count" and the "output" for "input"."""
    gen = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))
    model.eval()
    sd = list(model.state_dict().items())
    if args.get("path"):
        write_safetensors(str(args["path"]), sd, bool(args.get("int_as_i64", True)))
    out = []
    if "input" in t:
        with torch.no_grad():
            out.append(("output", model.to(t["input"].dtype)(t["input"])))
    reply_ok(out, keys=[k for k, _ in sd], param_count=sum(p.numel() for p in model.parameters()))


OPS = {}
if torch is not None:
    OPS = {
        "ping": op_ping,
        "conv2d": op_conv2d,
        "max_pool2d": op_max_pool2d,
        "avg_pool2d": op_avg_pool2d,
        "lp_pool2d": op_lp_pool2d,
        "adaptive_avg_pool2d": op_adaptive_avg_pool2d,
        "batch_norm": op_batch_norm,
        "relu": op_activation("relu"),
        "sigmoid": op_activation("sigmoid"),
        "tanh": op_activation("tanh"),
        "linear": op_linear,
        "softmax": op_softmax,
        "log_softmax": op_log_softmax,
        "add": op_add,
        "lenet5": op_model("lenet5"),
        "basic_block": op_model("basic_block"),
        "composite": op_model("composite"),
        "forward_state_dict": op_forward_state_dict,
        "forward_safetensors": op_forward_safetensors,
        "save_safetensors": op_save_safetensors,
        "torchvision_model": op_torchvision_model,
    }
    import ops_shape  # shape / element-wise helper ops: handlers return named tensors, sent here
    OPS.update({k: (lambda f: lambda args, t: reply_ok(f(args, t)))(f) for k, f in ops_shape.OPS.items()})


# ------------------------------------------------------------------------------------------------
# Training: gradients, losses, batch norm in training mode, optimizers, schedulers, whole models
# ------------------------------------------------------------------------------------------------
#
# These ops run with autograd enabled (handle() wraps every op in no_grad; they re-enable it) and,
# like the forward ops, in float64 unless args.dtype = "float32".
#
#   grad        args.forward = one of the forward ops above (conv2d, max_pool2d, avg_pool2d, lp_pool2d,
#               adaptive_avg_pool2d, batch_norm (eval), relu, sigmoid, tanh, linear, softmax,
#               log_softmax, add, flatten) + that op's args; tensors: the op's inputs + "grad_output".
#               -> "output" and "grad.<name>" = d(sum(output * grad_output))/d(<name>) for every
#               differentiable input the request has (running statistics are not differentiable).
#   batch_norm_train   input[, weight][, bias][, running_mean, running_var], grad_output; momentum, eps
#               -> output, grad.input[, grad.weight][, grad.bias], save_mean, save_invstd (biased batch
#               variance), running_mean / running_var after the update (unbiased variance, like torch)
#   cross_entropy      logits [N, C]; args.labels [N], label_smoothing -> loss [1], grad.logits
#   mse_loss           prediction, target -> loss [1], grad.prediction, grad.target
#   optim       args.optimizer sgd|adam|adamw|rmsprop, args.hyper (torch keyword arguments), args.steps;
#               tensors param.<i> (initial values) and grads.<i> [steps, *shape] (the gradient given
#               at each step; a step whose row is all NaN leaves .grad = None for that parameter)
#               -> param.<i> [steps, *shape]: the values after every step
#   lr_schedule args.scheduler step|cosine, lr, epochs, step_size, gamma | t_max, eta_min -> header "lrs":
#               the lr before the first epoch, then after every scheduler.step() (epochs + 1 values)
#   model_grad  args.model lenet5|basic_block|multitask|small_cnn or a zoo model of ops_zoo.py (+ seed and model args; args.path writes
#               the initial state dict as safetensors first), args.train (default true), args.loss
#               cross_entropy (args.labels) | mse (tensor "target") | multitask (labels + "target");
#               args.frozen: parameter names with requires_grad = False; args.dropout_eval: every nn.Dropout in
#               eval mode (the identity) while the rest trains; tensor "input"
#               -> "output", "loss" [1], "grad.<param>" for every trainable parameter, "state.<key>" the
#               state dict after the step (running statistics updated in train mode)
#   train       args.model (as model_grad, BN-free and dropout-free models only), seed, path, optimizer,
#               hyper, labels [[...] per step]; tensors "x.<s>" for every step s
#               -> header "losses" (the loss of every step, before its update), "state.<key>" at the end
#   clip_grad_norm  tensors grad.<i>, args.max_norm -> the clipped grad.<i>, header total_norm


GRAD_INPUTS = {
    "conv2d": ("input", "weight", "bias"),
    "max_pool2d": ("input",),
    "avg_pool2d": ("input",),
    "lp_pool2d": ("input",),
    "adaptive_avg_pool2d": ("input",),
    "batch_norm": ("input", "weight", "bias"),
    "relu": ("input",),
    "sigmoid": ("input",),
    "tanh": ("input",),
    "linear": ("input", "weight", "bias"),
    "softmax": ("input",),
    "log_softmax": ("input",),
    "add": ("a", "b"),
    "flatten": ("input",),
}


def forward_of(name, args, t):
    """The forward ops above as functions returning the output tensor (autograd-friendly)."""
    if name == "conv2d":
        top, bottom, left, right = quad(args.get("padding", 0), "padding")
        x = F.pad(need(t, "input"), (left, right, top, bottom))
        y = F.conv2d(x, need(t, "weight"), t.get("bias"), stride=pair(args.get("stride", 1), "stride"), padding=0,
                     dilation=pair(args.get("dilation", 1), "dilation"), groups=int(args.get("groups", 1)))
        return activate(y, args.get("activation"))
    if name == "max_pool2d":
        k = pair(args["kernel"], "kernel")
        return F.max_pool2d(need(t, "input"), k, stride=pair(args.get("stride", k), "stride"),
                            padding=pair(args.get("padding", 0), "padding"),
                            dilation=pair(args.get("dilation", 1), "dilation"), ceil_mode=bool(args.get("ceil_mode", False)))
    if name == "avg_pool2d":
        k = pair(args["kernel"], "kernel")
        d = args.get("divisor_override")
        return F.avg_pool2d(need(t, "input"), k, stride=pair(args.get("stride", k), "stride"),
                            padding=pair(args.get("padding", 0), "padding"), ceil_mode=bool(args.get("ceil_mode", False)),
                            count_include_pad=bool(args.get("count_include_pad", True)),
                            divisor_override=None if d is None else int(d))
    if name == "lp_pool2d":
        k = pair(args["kernel"], "kernel")
        return F.lp_pool2d(need(t, "input"), float(args["norm_type"]), k, stride=pair(args.get("stride", k), "stride"),
                           ceil_mode=bool(args.get("ceil_mode", False)))
    if name == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(need(t, "input"), int(args.get("output_size", 1)))
    if name == "batch_norm":
        y = F.batch_norm(need(t, "input"), need(t, "running_mean"), need(t, "running_var"), t.get("weight"),
                         t.get("bias"), training=False, eps=float(args.get("eps", 1e-5)))
        return activate(y, args.get("activation"))
    if name in ("relu", "sigmoid", "tanh"):
        return activate(need(t, "input"), name)
    if name == "linear":
        return activate(F.linear(need(t, "input"), need(t, "weight"), t.get("bias")), args.get("activation"))
    if name == "softmax":
        return F.softmax(need(t, "input"), dim=int(args["dim"]))
    if name == "log_softmax":
        return F.log_softmax(need(t, "input"), dim=int(args["dim"]))
    if name == "add":
        return activate(need(t, "a") + need(t, "b"), args.get("activation"))
    if name == "flatten":
        return torch.flatten(need(t, "input"), int(args.get("start_dim", 1)), int(args.get("end_dim", -1)))
    raise ValueError("grad: unknown forward op %r (known: %s)" % (name, ", ".join(sorted(GRAD_INPUTS))))


def op_grad(args, t):
    name = str(args.get("forward", ""))
    if name not in GRAD_INPUTS:
        raise ValueError("grad: unknown forward op %r (known: %s)" % (name, ", ".join(sorted(GRAD_INPUTS))))
    with torch.enable_grad():
        inputs = dict(t)
        go = inputs.pop("grad_output")
        wrt = [k for k in GRAD_INPUTS[name] if k in inputs]
        for k in wrt:
            inputs[k] = inputs[k].clone().requires_grad_(True)
        y = forward_of(name, args, inputs)
        if tuple(go.shape) != tuple(y.shape):
            raise ValueError("grad_output has shape %s, the output %s" % (list(go.shape), list(y.shape)))
        grads = torch.autograd.grad(y, [inputs[k] for k in wrt], go, allow_unused=True)
    out = [("output", y)]
    for k, g in zip(wrt, grads):
        out.append(("grad." + k, torch.zeros_like(inputs[k]) if g is None else g))
    reply_ok(out)


def op_batch_norm_train(args, t):
    momentum, eps = float(args.get("momentum", 0.1)), float(args.get("eps", 1e-5))
    with torch.enable_grad():
        x = need(t, "input").clone().requires_grad_(True)
        w = t.get("weight")
        b = t.get("bias")
        wrt = [("input", x)]
        if w is not None:
            w = w.clone().requires_grad_(True)
            wrt.append(("weight", w))
        if b is not None:
            b = b.clone().requires_grad_(True)
            wrt.append(("bias", b))
        rm = t.get("running_mean")
        rv = t.get("running_var")
        rm = None if rm is None else rm.clone()
        rv = None if rv is None else rv.clone()
        y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=momentum, eps=eps)
        y = activate(y, args.get("activation"))
        grads = torch.autograd.grad(y, [v for _, v in wrt], need(t, "grad_output"))
    dims = (0, 2, 3)
    xd = need(t, "input")
    mean = xd.mean(dim=dims)
    var = xd.var(dim=dims, unbiased=False)
    out = [("output", y)] + [("grad." + k, g) for (k, _), g in zip(wrt, grads)]
    out += [("save_mean", mean), ("save_invstd", 1.0 / torch.sqrt(var + eps))]
    if rm is not None:
        out += [("running_mean", rm), ("running_var", rv)]
    reply_ok(out)


def op_cross_entropy(args, t):
    with torch.enable_grad():
        logits = need(t, "logits").clone().requires_grad_(True)
        labels = torch.tensor([int(v) for v in args["labels"]], dtype=torch.int64)
        loss = F.cross_entropy(logits, labels, label_smoothing=float(args.get("label_smoothing", 0.0)))
        (g,) = torch.autograd.grad(loss, [logits])
    reply_ok([("loss", loss.reshape(1)), ("grad.logits", g)])


def op_mse_loss(args, t):
    with torch.enable_grad():
        p = need(t, "prediction").clone().requires_grad_(True)
        q = need(t, "target").clone().requires_grad_(True)
        loss = F.mse_loss(p, q)
        gp, gq = torch.autograd.grad(loss, [p, q])
    reply_ok([("loss", loss.reshape(1)), ("grad.prediction", gp), ("grad.target", gq)])


OPTIMIZERS = {}
if torch is not None:
    OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
                  "rmsprop": torch.optim.RMSprop}


def indexed(t, prefix):
    out = []
    i = 0
    while ("%s.%d" % (prefix, i)) in t:
        out.append(t["%s.%d" % (prefix, i)])
        i += 1
    return out


def op_optim(args, t):
    name = str(args["optimizer"]).lower()
    if name not in OPTIMIZERS:
        raise ValueError("unknown optimizer %r (%s)" % (name, ", ".join(sorted(OPTIMIZERS))))
    steps = int(args["steps"])
    params = [p.clone().requires_grad_(True) for p in indexed(t, "param")]
    grads = indexed(t, "grads")
    if not params or len(grads) != len(params):
        raise ValueError("optim needs param.<i> and grads.<i> for i = 0..n-1 (got %s)" % sorted(t))
    for p, g in zip(params, grads):
        if tuple(g.shape) != (steps,) + tuple(p.shape):
            raise ValueError("grads has shape %s, expected %s" % (list(g.shape), [steps] + list(p.shape)))
    hyper = dict(args.get("hyper") or {})
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    opt = OPTIMIZERS[name](params, **hyper)
    history = [[] for _ in params]
    for s in range(steps):
        for p, g in zip(params, grads):
            row = g[s]
            p.grad = None if bool(torch.isnan(row).all()) else row.clone()
        opt.step()
        for i, p in enumerate(params):
            history[i].append(p.detach().clone())
    reply_ok([("param.%d" % i, torch.stack(h)) for i, h in enumerate(history)])


def op_lr_schedule(args, t):
    lr = float(args["lr"])
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    kind = str(args["scheduler"]).lower()
    if kind == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=int(args["step_size"]), gamma=float(args.get("gamma", 0.1)))
    elif kind == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(args["t_max"]), eta_min=float(args.get("eta_min", 0.0)))
    else:
        raise ValueError("unknown scheduler %r (step, cosine)" % kind)
    lrs = [opt.param_groups[0]["lr"]]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(int(args["epochs"])):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
    reply_ok([], lrs=lrs)


if torch is not None:

    class MultiTask(nn.Module):
        """Two heads on a shared trunk (input [N, 1, 8, 8]): head_a 5-way classification (cross-entropy),
        head_b regression (MSE); the training loss is their sum, so the trunk's gradient accumulates."""

        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                       nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Flatten())
            self.head_a = nn.Linear(128, 5)
            self.head_b = nn.Linear(128, 1)

        def forward(self, x):
            f = self.trunk(x)
            return self.head_a(f), self.head_b(f)

    def make_small_cnn():
        """BN-free, dropout-free: input [N, 1, 8, 8] -> 10 logits."""
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 8, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                             nn.Linear(32, 10))


def build_training_model(args):
    name = str(args["model"])
    seed = int(args.get("seed", 0))
    if name == "multitask":
        torch.manual_seed(seed)
        model = MultiTask()
    elif name == "small_cnn":
        torch.manual_seed(seed)
        model = make_small_cnn()
    else:
        model = build_model(name, args)
    return model


def training_loss(model, args, t, x):
    kind = str(args.get("loss", "cross_entropy"))
    out = model(x)
    if kind == "multitask":
        a, b = out
        labels = torch.tensor([int(v) for v in args["labels"]], dtype=torch.int64)
        loss = F.cross_entropy(a, labels, label_smoothing=float(args.get("label_smoothing", 0.0))) + F.mse_loss(b, need(t, "target"))
        return torch.cat([a, b], dim=1), loss
    if kind == "cross_entropy":
        labels = torch.tensor([int(v) for v in args["labels"]], dtype=torch.int64)
        return out, F.cross_entropy(out, labels, label_smoothing=float(args.get("label_smoothing", 0.0)))
    if kind == "mse":
        return out, F.mse_loss(out, need(t, "target"))
    raise ValueError("unknown loss %r (cross_entropy, mse, multitask)" % kind)


def set_training_mode(model, args):
    """model.train(args.train, default true); args.dropout_eval keeps every nn.Dropout in eval mode (the identity):
    CnnNative's dropout masks are a hash of its own seed, so a training-mode dropout cannot be matched."""
    model.train(bool(args.get("train", True)))
    if args.get("dropout_eval"):
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.eval()


def op_model_grad(args, t):
    model = build_training_model(args)
    if args.get("path"):
        write_safetensors(str(args["path"]), list(model.state_dict().items()), True)
    x = need(t, "input")
    model = model.to(x.dtype)
    set_training_mode(model, args)
    frozen = set(args.get("frozen") or [])
    named = list(model.named_parameters())
    unknown = frozen - {n for n, _ in named}
    if unknown:
        raise ValueError("frozen names not parameters: %s" % sorted(unknown))
    for n, p in named:
        p.requires_grad_(n not in frozen)
    with torch.enable_grad():
        y, loss = training_loss(model, args, t, x)
        loss.backward()
    out = [("output", y), ("loss", loss.reshape(1))]
    out += [("grad." + n, p.grad) for n, p in named if p.grad is not None]
    out += [("state." + k, v) for k, v in model.state_dict().items()]
    reply_ok(out, params=[n for n, _ in named])


def op_train(args, t):
    model = build_training_model(args)
    if args.get("path"):
        write_safetensors(str(args["path"]), list(model.state_dict().items()), True)
    dtype = torch.float64 if str(args.get("dtype", "float64")) == "float64" else torch.float32
    model = model.to(dtype)
    model.train()
    name = str(args.get("optimizer", "sgd")).lower()
    opt = OPTIMIZERS[name](model.parameters(), **dict(args.get("hyper") or {}))
    losses = []
    all_labels = args["labels"]
    for s in range(len(all_labels)):
        x = need(t, "x.%d" % s)
        step_args = dict(args)
        step_args["labels"] = all_labels[s]
        opt.zero_grad()
        with torch.enable_grad():
            _, loss = training_loss(model, step_args, t, x)
            loss.backward()
        opt.step()
        losses.append(float(loss))
    reply_ok([("state." + k, v) for k, v in model.state_dict().items()], losses=losses)


def op_clip_grad_norm(args, t):
    """tensors grad.<i>: gradients of dummy parameters; args.max_norm -> clipped grad.<i>, header total_norm."""
    grads = indexed(t, "grad")
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, float(args["max_norm"]))
    reply_ok([("grad.%d" % i, p.grad) for i, p in enumerate(params)], total_norm=float(total))


if torch is not None:
    OPS.update({
        "clip_grad_norm": op_clip_grad_norm,
        "grad": op_grad,
        "batch_norm_train": op_batch_norm_train,
        "cross_entropy": op_cross_entropy,
        "mse_loss": op_mse_loss,
        "optim": op_optim,
        "lr_schedule": op_lr_schedule,
        "model_grad": op_model_grad,
        "train": op_train,
    })
    import ops_zoo  # the model zoo (tests/oracle/ops_zoo.py): more models and the zoo_model op

    ops_zoo.register(sys.modules[__name__])


# ------------------------------------------------------------------------------------------------
# Server loop
# ------------------------------------------------------------------------------------------------

def handle(header, raw):
    if TORCH_ERROR is not None:
        send({"ok": False, "error": TORCH_ERROR})
        return
    op = header.get("op")
    fn = OPS.get(op)
    if fn is None:
        send({"ok": False, "error": "unknown op %r; known: %s" % (op, ", ".join(sorted(OPS)))})
        return
    args = header.get("args") or {}
    dtype = torch.float64 if str(args.get("dtype", "float64")) == "float64" else torch.float32
    tensors = {}
    for name, (shape, kind, blob) in raw.items():
        if kind == "I64":
            a = np.frombuffer(blob, dtype="<i8").reshape(shape)
            tensors[name] = torch.from_numpy(a.copy())
        else:
            a = np.frombuffer(blob, dtype="<f4").reshape(shape)
            tensors[name] = torch.from_numpy(a.copy()).to(dtype)
    with torch.no_grad():
        fn(args, tensors)


def main():
    if torch is not None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
    while True:
        prefix = read_exact(4)
        if prefix is None:
            return 0
        (length,) = struct.unpack("<I", prefix)
        body = read_exact(length)
        if body is None:
            return 0
        try:
            header = json.loads(body.decode("utf-8"))
            if not isinstance(header, dict):
                raise ValueError("the header must be a JSON object")
        except Exception as exc:
            # The payload size is unknown: report and go on reading (the client sent garbage).
            send({"ok": False, "error": "bad request header: %s: %s" % (type(exc).__name__, exc)})
            continue
        # Always consume the payload the header announces, even if the request is bad later.
        raw, bad = {}, None
        for entry in header.get("tensors") or []:
            try:
                name, shape = str(entry["name"]), [int(d) for d in entry["shape"]]
                kind = str(entry.get("dtype", "F32"))
                size = numel(shape) * DTYPE_SIZES[kind]
            except Exception as exc:
                bad = "bad tensor entry %r: %s: %s" % (entry, type(exc).__name__, exc)
                break
            blob = read_exact(size)
            if blob is None:
                return 0
            raw[name] = (shape, kind, blob)
        if bad is not None:
            send({"ok": False, "error": bad})
            continue
        try:
            handle(header, raw)
        except Exception as exc:
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
            send({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)})


if __name__ == "__main__":
    sys.exit(main())
