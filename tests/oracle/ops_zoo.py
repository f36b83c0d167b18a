"""ops_zoo.py — the model zoo's side of the oracle (registered by torch_oracle.py through register()).

Models by name (also known to torch_oracle.build_model, so model_grad / train can use them):
    alexnet, vgg11, vgg11_bn, vgg16, vgg16_bn, resnet18, resnet34, resnet50, mobilenet_v2
                the torchvision 0.14 models, torchvision.models.<name>(num_classes=args.num_classes) (VGG with
                init_weights=False)
    googlenet   torchvision.models.googlenet(num_classes, aux_logits=False, transform_input=False,
                init_weights=False)
    inception   torchvision's googlenet.Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5,
                pool_proj) (args of those names)
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
from torchvision.models.googlenet import Inception
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
    "allconvnet": lambda args: AllConvNet(int(args.get("in_channels", 3)), num_classes(args)),
    "vgg_features": lambda args: vgg_make_layers(vgg_cfgs[str(args["cfg"])], bool(args.get("batch_norm", False))),
})


def kink_margin(model, x):
    """How far the forward pass of model(x) stays from the kinks of its piecewise-linear ops: the smallest |input|
    of any nn.ReLU call and the smallest gap between the two largest values of any max-pool window whose
    maximum is positive. A float32 forward (CnnNative) that differs from torch's float64 one by more than this
    may take the other side of a kink, which changes a gradient element by O(1): a gradient comparison is
    only meaningful when this margin is well above the forward's rounding error."""
    margins = []

    def relu_hook(module, inputs):
        margins.append(float(inputs[0].abs().min()))

    def pool_hook(module, inputs):
        if module.ceil_mode or module.dilation not in (1, (1, 1)):
            raise ValueError("kink_margin: ceil_mode / dilated max pools are not supported")
        k, s, p = (v if isinstance(v, tuple) else (v, v) for v in (module.kernel_size, module.stride, module.padding))
        padded = nn.functional.pad(inputs[0], (p[1], p[1], p[0], p[0]), value=float("-inf"))
        windows = padded.unfold(2, k[0], s[0]).unfold(3, k[1], s[1]).flatten(-2)
        top = windows.topk(2, dim=-1).values
        positive = top[..., 0] > 0
        if bool(positive.any()):
            margins.append(float((top[..., 0] - top[..., 1])[positive].min()))

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            hooks.append(m.register_forward_pre_hook(relu_hook))
        elif isinstance(m, nn.MaxPool2d):
            hooks.append(m.register_forward_pre_hook(pool_hook))
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return min(margins) if margins else float("inf")


def register(oracle):
    """Adds the models to oracle.ZOO_MODELS and the zoo_model and kink_margin ops to oracle.OPS (oracle: the torch_oracle module)."""

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
        model.train(bool(args.get("train", True)))
        oracle.reply_ok([], margin=kink_margin(model, x))

    oracle.ZOO_MODELS.update(MODELS)
    oracle.OPS["kink_margin"] = op_kink_margin
    oracle.OPS["zoo_model"] = op_zoo_model

