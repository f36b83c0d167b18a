"""ops_shape.py — oracle handlers for the shape / element-wise helper ops (ReLU6, clamp, hardtanh,
concatenation, narrow, adaptive average pooling to any size, per-channel scale/shift, element-wise mul, conv1d).

One request op, "shape": args.forward names the torch function below, the tensors are its inputs
(float64 unless args.dtype = "float32"), plus an optional "grad_output". The reply holds "output" and,
with grad_output, "grad.<name>" = d(sum(output * grad_output))/d(<name>) for every differentiable
input present. Handlers return their named tensors; torch_oracle.py sends them (OPS.update below).
"""
import torch
import torch.nn.functional as F


def _cat_inputs(t):
    names = sorted((k for k in t if k.startswith("input.")), key=lambda k: int(k.split(".")[1]))
    if not names:
        raise ValueError("cat: no tensors named input.<i>")
    return names


def _scale_shift(t, args):
    x = t["input"]
    dim = int(args["dim"]) % x.dim()
    view = [1] * x.dim()
    y = x
    if "scale" in t:
        s = t["scale"]
        view[dim] = s.numel()
        y = y * s.reshape(view)
    if "shift" in t:
        b = t["shift"]
        view[dim] = b.numel()
        y = y + b.reshape(view)
    return y


def _activate(y, name):
    name = (name or "none").lower()
    return {"none": lambda v: v, "relu": torch.relu, "relu6": F.relu6, "sigmoid": torch.sigmoid,
            "tanh": torch.tanh}[name](y)


# name -> (differentiable inputs or None for "every input.<i>", forward(t, args))
FORWARDS = {
    "relu6": (("input",), lambda t, a: F.relu6(t["input"])),
    "clamp": (("input",), lambda t, a: torch.clamp(t["input"], float(a["min"]), float(a["max"]))),
    "hardtanh": (("input",), lambda t, a: F.hardtanh(t["input"], float(a["min"]), float(a["max"]))),
    "cat": (None, lambda t, a: torch.cat([t[k] for k in _cat_inputs(t)], int(a["dim"]))),
    "narrow": (("input",), lambda t, a: torch.narrow(t["input"], int(a["dim"]), int(a["start"]), int(a["length"]))),
    "adaptive_avg_pool2d": (("input",), lambda t, a: F.adaptive_avg_pool2d(t["input"], tuple(int(v) for v in a["output_size"]))),
    "scale_shift": (("input",), lambda t, a: _scale_shift(t, a)),
    "mul": (("a", "b"), lambda t, a: t["a"] * t["b"]),
    "conv1d": (("input", "weight", "bias"), lambda t, a: _activate(
        F.conv1d(t["input"], t["weight"], t.get("bias"), stride=int(a.get("stride", 1)), padding=int(a.get("padding", 0)),
                 dilation=int(a.get("dilation", 1)), groups=int(a.get("groups", 1))), a.get("activation"))),
}


def op_shape(args, t):
    name = str(args.get("forward", ""))
    if name not in FORWARDS:
        raise ValueError("shape: unknown forward %r (known: %s)" % (name, ", ".join(sorted(FORWARDS))))
    differentiable, forward = FORWARDS[name]
    inputs = dict(t)
    go = inputs.pop("grad_output", None)
    if go is None:
        return [("output", forward(inputs, args))]
    wrt = _cat_inputs(inputs) if differentiable is None else [k for k in differentiable if k in inputs]
    with torch.enable_grad():
        for k in wrt:
            inputs[k] = inputs[k].clone().requires_grad_(True)
        y = forward(inputs, args)
        if tuple(go.shape) != tuple(y.shape):
            raise ValueError("grad_output has shape %s, the output %s" % (list(go.shape), list(y.shape)))
        grads = torch.autograd.grad(y, [inputs[k] for k in wrt], go, allow_unused=True)
    out = [("output", y.detach())]
    for k, g in zip(wrt, grads):
        out.append(("grad." + k, torch.zeros_like(inputs[k]) if g is None else g))
    return out


OPS = {"shape": op_shape}
