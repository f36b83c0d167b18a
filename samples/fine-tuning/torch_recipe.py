#!/usr/bin/env python3
"""The fine-tuning walkthrough's recipe in PyTorch (docs/fine-tuning.md), the same steps as the
`cnn train` commands there, on the folders export_fashion_pngs.py writes:

  1. pre-train torchvision's resnet18 (random init, 5 classes) on pretrain/train (classes 0-4)
  2. new head (Linear(512, 5)) for finetune/train (classes 5-9), backbone frozen (requires_grad False)
  3. unfreeze everything, new Adam at lr * 0.1
and reports the test accuracy (pretrain/test, finetune/test) after each stage, per seed, as JSON.

Input: 28x28 grayscale PNG -> RGB (ImageFolder's loader) -> Resize(32) -> CenterCrop(32) -> ToTensor ->
Normalize(0.2860, 0.3530), no augmentation (so the runs differ only in initial weights and shuffling).
Adam, batch 64, 2 threads. The new head of stage 2 is initialised after torch.manual_seed(seed + 1000).
Usage: /usr/bin/python3 torch_recipe.py ROOT --seeds 0 1 [--epochs 3 3 2] [--out result.json]
"""
import argparse
import json
import struct
import time

import numpy as np

import torch
import torchvision
from torchvision import transforms as T

MEAN, STD = (0.2860,) * 3, (0.3530,) * 3


def loaders(root, stage, batch, seed):
    tf = T.Compose([T.Resize(32), T.CenterCrop(32), T.ToTensor(), T.Normalize(MEAN, STD)])
    train = torchvision.datasets.ImageFolder(f"{root}/{stage}/train", tf)
    test = torchvision.datasets.ImageFolder(f"{root}/{stage}/test", tf)
    g = torch.Generator().manual_seed(seed)
    return (torch.utils.data.DataLoader(train, batch_size=batch, shuffle=True, generator=g),
            torch.utils.data.DataLoader(test, batch_size=256))


def load_safetensors(path):
    """A state dict from a .safetensors file (F32 and I64 tensors; no extra package needed)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "I64": np.int64}
    state = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        state[key] = torch.from_numpy(array.copy())
    return state


def run_epochs(model, params, lr, epochs, train, log):
    opt = torch.optim.Adam(params, lr=lr)
    for e in range(epochs):
        model.train()
        t0, total, correct, loss_sum = time.time(), 0, 0, 0.0
        for x, y in train:
            opt.zero_grad()
            out = model(x)
            loss = torch.nn.functional.cross_entropy(out, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
        log(f"  epoch {e + 1}/{epochs}: train loss {loss_sum / total:.4f} acc {100 * correct / total:.2f}%  "
            f"{total / (time.time() - t0):.0f} img/s")


@torch.no_grad()
def accuracy(model, test):
    model.eval()
    correct = total = 0
    for x, y in test:
        correct += (model(x).argmax(1) == y).sum().item()
        total += len(y)
    return correct / total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, nargs=3, default=[3, 3, 2], metavar=("PRETRAIN", "FROZEN", "UNFROZEN"))
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out")
    p.add_argument("--backbone", help="skip stage 1: start stage 2 from this pre-trained resnet18 (.safetensors, e.g. cnn train's "
                                      "last.safetensors), to compare the fine-tuning stages from identical weights")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    results = []
    for seed in a.seeds:
        def log(msg):
            print(f"[seed {seed}] {msg}", flush=True)

        torch.manual_seed(seed)
        model = torchvision.models.resnet18(num_classes=5)
        pre_train, pre_test = loaders(a.root, "pretrain", a.batch, seed)
        t0 = time.time()
        if a.backbone:
            model.load_state_dict(load_safetensors(a.backbone))
            log(f"stage 1 skipped: weights from {a.backbone}")
        else:
            log("stage 1: pre-train on classes 0-4")
            run_epochs(model, model.parameters(), a.lr, a.epochs[0], pre_train, log)
        acc_pre = accuracy(model, pre_test)
        log(f"stage 1 test accuracy (classes 0-4): {100 * acc_pre:.2f}%")

        ft_train, ft_test = loaders(a.root, "finetune", a.batch, seed)
        torch.manual_seed(seed + 1000)
        model.fc = torch.nn.Linear(512, 5)
        for name, prm in model.named_parameters():
            prm.requires_grad = name.startswith("fc.")
        log("stage 2: new head, frozen backbone, classes 5-9")
        run_epochs(model, model.fc.parameters(), a.lr, a.epochs[1], ft_train, log)
        acc_frozen = accuracy(model, ft_test)
        log(f"stage 2 test accuracy (classes 5-9): {100 * acc_frozen:.2f}%")

        for prm in model.parameters():
            prm.requires_grad = True
        log("stage 3: unfrozen, lr x 0.1")
        run_epochs(model, model.parameters(), a.lr * 0.1, a.epochs[2], ft_train, log)
        acc_unfrozen = accuracy(model, ft_test)
        log(f"stage 3 test accuracy (classes 5-9): {100 * acc_unfrozen:.2f}%  ({time.time() - t0:.0f} s)")
        results.append({"seed": seed, "pretrain": acc_pre, "frozen": acc_frozen, "unfrozen": acc_unfrozen,
                        "seconds": time.time() - t0})
    text = json.dumps({"framework": f"torch {torch.__version__}, torchvision {torchvision.__version__}",
                       "epochs": a.epochs, "lr": a.lr, "batch": a.batch, "threads": a.threads, "runs": results}, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
