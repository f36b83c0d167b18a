"""ops_zoo.py — the model zoo's side of the oracle (registered by torch_oracle.py through register()).

Models by name (also known to torch_oracle.build_model, so model_grad / train can use them):
    alexnet, vgg11, vgg11_bn, vgg16, vgg16_bn, resnet18, resnet34, resnet50, mobilenet_v2
                the torchvision 0.14 models, torchvision.models.<name>(num_classes=args.num_classes) (VGG with
                init_weights=False)
    googlenet   torchvision.models.googlenet(num_classes, aux_logits=False, transform_input=False,
                init_weights=False)
    inception   torchvision's googlenet.Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5,
                pool_proj) (args of those names)
    bottleneck  torchvision's resnet.Bottleneck(args.inplanes, args.planes, args.stride) with ResNet's downsample
    vgg_features  torchvision's VGG trunk alone, vgg.make_layers(cfgs[args.cfg], args.batch_norm) (cfg "A": VGG-11,
                "D": VGG-16): the features of a VGG without the 120M-parameter classifier
    allconvnet  AllConvNet below (args.in_channels, args.num_classes): All-CNN-C, the reference for
                CnnNative.Models.AllConvNet

Ops:
    kink_margin [input] args as model_grad (model, seed, train, + the model's args) -> header "margin": how far
                        the forward pass stays from ReLU kinks and max-pool ties (see kink_margin)
    zoo_model [input]   arch (a name above), seed, num_classes (+ the model's args)[, path]: built after
                        torch.manual_seed(seed) and answered like torchvision_model (random BN state, eval
                        mode, "keys", "param_count", "output" for an input, args.path gets the state dict)
"""
import torch
import torch.nn as nn
import torchvision
from torchvision.models.googlenet import BasicConv2d as GoogLeNetBasicConv2d, Inception
from torchvision.models.resnet import Bottleneck, conv1x1
from torchvision.models.vgg import cfgs as vgg_cfgs, make_layers as vgg_make_layers

INCEPTION_ARGS = ("in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")


class AllConvNet(nn.Module):
    """All-CNN-C (Springenberg et al. 2015, table 2 "All-CNN-C" with the dropout of section 3.1): strided 3x3
    convolutions instead of max pooling, 1x1 convolutions, a ReLU on the class maps and global average pooling;
    no linear layer. For 32x32 inputs: 32 -> 16 -> 8 -> 6 (valid 3x3) -> averaged over 6x6."""

    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Dropout(0.2),
            nn.Conv2d(in_channels, 96, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(96, 96, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(96, 96, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Conv2d(96, 192, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(192, 192, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Conv2d(192, 192, 3), nn.ReLU(inplace=True),
            nn.Conv2d(192, 192, 1), nn.ReLU(inplace=True),
            nn.Conv2d(192, num_classes, 1), nn.ReLU(inplace=True),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return torch.flatten(self.avgpool(self.features(x)), 1)


def bottleneck(inplanes, planes, stride):
    """torchvision's resnet.Bottleneck with the downsample its ResNet._make_layer gives it (1x1 conv with the stride +
    BatchNorm when the stride is not 1 or the width changes): CnnNative.Models.Bottleneck's reference."""
    width = planes * Bottleneck.expansion
    downsample = None
    if stride != 1 or inplanes != width:
        downsample = nn.Sequential(conv1x1(inplanes, width, stride), nn.BatchNorm2d(width))
    return Bottleneck(inplanes, planes, stride, downsample)


def num_classes(args):
    return int(args.get("num_classes", 1000))


def torchvision_model(name, **kwargs):
    return lambda args: getattr(torchvision.models, name)(num_classes=num_classes(args), **kwargs)


MODELS = {name: torchvision_model(name) for name in ("alexnet", "resnet18", "resnet34", "resnet50", "mobilenet_v2")}
# VGG without its normal_ re-initialisation of ~130M weights (PyTorch's layer defaults instead): several
# seconds less per model; the values are random either way.
MODELS.update({name: torchvision_model(name, init_weights=False) for name in ("vgg11", "vgg11_bn", "vgg16", "vgg16_bn")})
MODELS.update({
    "googlenet": lambda args: torchvision.models.googlenet(
        num_classes=num_classes(args), aux_logits=False, transform_input=False, init_weights=False),
    "inception": lambda args: Inception(*[int(args[k]) for k in INCEPTION_ARGS]),
    "bottleneck": lambda args: bottleneck(int(args["inplanes"]), int(args["planes"]), int(args.get("stride", 1))),
    "allconvnet": lambda args: AllConvNet(int(args.get("in_channels", 3)), num_classes(args)),
    "vgg_features": lambda args: vgg_make_layers(vgg_cfgs[str(args["cfg"])], bool(args.get("batch_norm", False))),
})


def pool_windows(x, module):
    """The windows of max pool module over x as [..., out_h, out_w, k_h * k_w], padded with -inf like torch
    (ceil_mode: the extra windows on the bottom / right, but none that would start in the padding)."""
    if module.dilation not in (1, (1, 1)):
        raise ValueError("kink_margin: dilated max pools are not supported")
    k, s, p = (v if isinstance(v, tuple) else (v, v) for v in (module.kernel_size, module.stride, module.padding))
    extra = []
    for d in range(2):
        size = x.shape[2 + d]
        out = (size + 2 * p[d] - k[d] + (s[d] - 1 if module.ceil_mode else 0)) // s[d] + 1
        if module.ceil_mode and (out - 1) * s[d] >= size + p[d]:
            out -= 1
        extra.append(max(0, (out - 1) * s[d] + k[d] - (size + 2 * p[d])))
    padded = nn.functional.pad(x, (p[1], p[1] + extra[1], p[0], p[0] + extra[0]), value=float("-inf"))
    return padded.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).flatten(-2)


def kink_margin(model, x):
    """How far the forward pass of model(x) stays from the kinks of its piecewise-linear ops: the smallest distance
    of any ReLU input from 0 (nn.ReLU modules, and the F.relu at the end of torchvision's googlenet.BasicConv2d,
    seen as the output of its bn), of any ReLU6 / Hardtanh input from its two bounds, and the smallest gap between
    the two largest (unequal) values of any max-pool window whose maximum is positive. A float32 forward (CnnNative) that
    differs from torch's float64 one by more than this may take the other side of a kink, which changes a gradient
    element by O(1): a gradient comparison is only meaningful when this margin is well above the forward's
    rounding error."""
    margins = []

    def relu_hook(module, inputs):
        margins.append(float(inputs[0].abs().min()))

    def pre_relu_output_hook(module, inputs, output):
        margins.append(float(output.abs().min()))

    def hardtanh_hook(module, inputs):
        v = inputs[0]
        margins.append(float(torch.minimum((v - module.min_val).abs(), (v - module.max_val).abs()).min()))

    def pool_hook(module, inputs):
        top = pool_windows(inputs[0], module).topk(2, dim=-1).values
        gap = top[..., 0] - top[..., 1]
        # An exact float64 tie is two copies of one value (in GoogLeNet, overlapping windows of the max pool before
        # the inception's 3x3/1 pool branch): either copy routes the gradient to the same element, in float32 too.
        counted = (top[..., 0] > 0) & (gap != 0)
        if bool(counted.any()):
            margins.append(float(gap[counted].min()))

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            hooks.append(m.register_forward_pre_hook(relu_hook))
        elif isinstance(m, nn.Hardtanh):  # nn.ReLU6 too
            hooks.append(m.register_forward_pre_hook(hardtanh_hook))
        elif isinstance(m, nn.MaxPool2d):
            hooks.append(m.register_forward_pre_hook(pool_hook))
        elif isinstance(m, GoogLeNetBasicConv2d):
            hooks.append(m.bn.register_forward_hook(pre_relu_output_hook))
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return min(margins) if margins else float("inf")


def register(oracle):
    """Adds the models to oracle.ZOO_MODELS and the zoo_model, kink_margin and weights_forward ops to oracle.OPS (oracle: the
    torch_oracle module)."""

    def op_zoo_model(args, t):
        arch = str(args["arch"])
        if arch not in MODELS:
            raise ValueError("unknown zoo model %r (%s)" % (arch, ", ".join(sorted(MODELS))))
        seed = int(args.get("seed", 0))
        torch.manual_seed(seed)
        oracle.serve_model(MODELS[arch](args), seed, args, t)

    def op_kink_margin(args, t):
        model = oracle.build_model(str(args["model"]), args)
        x = oracle.need(t, "input")
        model = model.to(x.dtype)
        oracle.set_training_mode(model, args)
        oracle.reply_ok([], margin=kink_margin(model, x))

    def op_weights_forward(args, t):
        """`cnn verify --weights`: the zoo model (args.model) with the safetensors file at args.path loaded strictly, on "input"."""
        model = oracle.build_model(str(args["model"]), args)
        state, _ = oracle.read_safetensors(str(args["path"]))
        model.load_state_dict(state, strict=True)
        x = oracle.need(t, "input")
        oracle.reply_ok([("output", model.to(x.dtype)(x))])

    oracle.ZOO_MODELS.update(MODELS)
    oracle.OPS["weights_forward"] = op_weights_forward
    oracle.OPS["kink_margin"] = op_kink_margin
    oracle.OPS["zoo_model"] = op_zoo_model

