#!/usr/bin/python3
"""Side-by-side training throughput: PyTorch vs `cnn train`, LeNet-5 on Fashion-MNIST.

Both sides train the same LeNet-5 (conv5x5 1->6 pad 2, ReLU, maxpool 2, conv5x5 6->16, ReLU, maxpool 2,
fc 400->120->84->10) for ONE epoch on the same 54,000 images (60,000 minus a 10% validation split),
inputs z-scored with the training split's mean/std, Adam (lr 1e-3), batch 64, shuffled, with the same
thread budget (2 by default). Each run is a fresh process (cold start: JIT / allocator warm-up included
on both sides). The throughput is training images / seconds of the training loop (forward, loss,
backward, optimizer step, batch assembly and the per-batch loss/accuracy read-back; data loading and
the validation pass are not timed). The runs alternate torch, ours, torch, ours, ...; the table reports
each run and the medians, and the ratio ours / torch of the medians.

Run it with Debian's python (which has torch): /usr/bin/python3 benchmarks/train_throughput.py
benchmarks/train_throughput.sh builds everything first and then runs this script.
"""
import argparse
import csv
import datetime
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("CNN_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
# The built CLI; CNN_CLI_DLL overrides it (e.g. a copy that a concurrent rebuild cannot touch).
CNN_DLL = os.environ.get("CNN_CLI_DLL") or os.path.join(ROOT, "src", "CnnNative.Cli", "bin", "Release", "net10.0", "cnn.dll")


def load_idx(path):
    """An IDX file (gzip or plain) as a numpy uint8 array with its dimensions."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def torch_worker(args):
    """One PyTorch run in this (fresh) process; prints one JSON line."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)

    images = load_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    labels = load_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    test_images = load_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    test_labels = load_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)

    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(labels))
    n_val = int(round(len(labels) * args.val_split))
    train_idx = np.sort(order[n_val:])
    x = images[train_idx]
    y = labels[train_idx]
    mean, std = float(x.mean()), float(x.std())
    x = torch.from_numpy((x - mean) / std).unsqueeze(1).contiguous()
    y = torch.from_numpy(y)
    xt = torch.from_numpy((test_images - mean) / std).unsqueeze(1).contiguous()
    yt = torch.from_numpy(test_labels)

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
    from reference_lenet5 import LeNet5  # the oracle's reference model, not a copy of it

    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    model.train()
    n = len(y)
    start = time.perf_counter()
    perm = torch.randperm(n)
    loss_sum, correct = 0.0, 0
    for s in range(0, n, args.batch):
        idx = perm[s:s + args.batch]
        xb, yb = x[idx], y[idx]
        optimizer.zero_grad()
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        correct += int((logits.argmax(1) == yb).sum())
    seconds = time.perf_counter() - start

    model.eval()
    with torch.no_grad():
        test_correct = int((model(xt).argmax(1) == yt).sum())
    print(json.dumps({
        "images": n, "seconds": seconds, "images_per_s": n / seconds,
        "train_loss": loss_sum / n, "train_acc": correct / n, "test_acc": test_correct / len(yt),
        "torch": torch.__version__,
    }))


def run_torch(args, seed):
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-worker", "--threads", str(args.threads),
           "--batch", str(args.batch), "--lr", str(args.lr), "--val-split", str(args.val_split), "--seed", str(seed)]
    wall = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - wall
    return result


def run_ours(args, seed):
    with tempfile.TemporaryDirectory(prefix="cnn-train-throughput-") as out_dir:
        cmd = ["dotnet", CNN_DLL, "train", "--model", "lenet5", "--epochs", "1", "--batch", str(args.batch),
               "--optimizer", "adam", "--lr", str(args.lr), "--threads", str(args.threads),
               "--val-split", str(args.val_split), "--seed", str(seed), "--out", out_dir]
        env = dict(os.environ, CNN_NO_PROGRESS="1")
        wall = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - wall
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"cnn train failed with exit code {proc.returncode}")
        with open(os.path.join(out_dir, "log.csv")) as f:
            row = list(csv.DictReader(f))[0]
        with open(os.path.join(out_dir, "best.json")) as f:
            card = json.load(f)
    ips = float(row["images_per_s"])
    return {"images_per_s": ips, "train_loss": float(row["train_loss"]), "train_acc": float(row["train_acc"]),
            "test_acc": card.get("test_accuracy"), "epoch_seconds": float(row["seconds"]), "wall": wall,
            "cmd": "cnn " + " ".join(cmd[2:-2]) + " --out DIR"}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--val-split", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=os.path.join(ROOT, "docs", "training-throughput.md"))
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return
    if not os.path.exists(CNN_DLL):
        raise SystemExit(f"{CNN_DLL} is missing: build first (./build.sh managed or benchmarks/train_throughput.sh)")

    load_before = open("/proc/loadavg").read().split()[:3]
    runs = []
    for r in range(args.repeats):
        seed = args.seed + r
        load = open("/proc/loadavg").read().split()[0]
        t = run_torch(args, seed)
        t["load"] = load
        load = open("/proc/loadavg").read().split()[0]
        print(f"run {r + 1}/{args.repeats} torch: {t['images_per_s']:8.0f} images/s  (train acc {100 * t['train_acc']:.2f}%, test acc {100 * t['test_acc']:.2f}%)", flush=True)
        o = run_ours(args, seed)
        o["load"] = load
        print(f"run {r + 1}/{args.repeats} ours:  {o['images_per_s']:8.0f} images/s  (train acc {100 * o['train_acc']:.2f}%, test acc {100 * (o['test_acc'] or 0):.2f}%)", flush=True)
        runs.append((t, o))
    load_after = open("/proc/loadavg").read().split()[:3]

    torch_median = statistics.median(t["images_per_s"] for t, _ in runs)
    ours_median = statistics.median(o["images_per_s"] for _, o in runs)
    ratio = ours_median / torch_median
    paired = statistics.median(o["images_per_s"] / t["images_per_s"] for t, o in runs)
    print(f"median: torch {torch_median:.0f} images/s, ours {ours_median:.0f} images/s, ours/torch = {ratio:.2f} (median of the per-run ratios: {paired:.2f})")

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Training throughput: CnnNative vs PyTorch (LeNet-5, Fashion-MNIST)",
        "",
        "Written by `benchmarks/train_throughput.sh` (which builds, then runs `/usr/bin/python3 benchmarks/train_throughput.py`). Do not edit by hand.",
        "",
        f"- Date: {now}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} hardware threads; load average before/after: {' '.join(load_before)} / {' '.join(load_after)}",
        f"- PyTorch {runs[0][0]['torch']} (Debian `python3-torch`, CPU), `torch.set_num_threads({args.threads})`",
        f"- CnnNative: `{runs[0][1]['cmd']}` (`cnn` = `dotnet src/CnnNative.Cli/bin/Release/net10.0/cnn.dll`; `--seed` is the run's seed)",
        f"- Workload: LeNet-5, one epoch over {runs[0][0]['images']:,} training images (60,000 minus a {args.val_split:g} validation split), "
        f"batch {args.batch}, Adam lr {args.lr:g}, inputs z-scored with the training split's statistics, shuffled; each run a fresh process",
        "- Measured: training images / seconds of the training loop (forward, cross-entropy, backward, optimizer step, batch assembly, per-batch loss "
        "and accuracy read-back); data loading and validation are not timed. Runs alternate torch / ours.",
        "",
        "| run | PyTorch images/s | CnnNative images/s | ours / torch | PyTorch test acc. | CnnNative test acc. | load avg. (1 min) before torch / ours |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (t, o) in enumerate(runs, 1):
        lines.append(f"| {i} | {t['images_per_s']:,.0f} | {o['images_per_s']:,.0f} | {o['images_per_s'] / t['images_per_s']:.2f} | "
                     f"{100 * t['test_acc']:.2f}% | {100 * (o['test_acc'] or 0):.2f}% | {t['load']} / {o['load']} |")
    lines.append(f"| **median** | **{torch_median:,.0f}** | **{ours_median:,.0f}** | **{ratio:.2f}** | | | |")
    lines += [
        "",
        f"**Ours / PyTorch (medians): {ratio:.2f}x** "
        f"({'faster' if ratio >= 1 else 'slower'} than PyTorch on this workload); median of the per-run ratios {paired:.2f}x.",
        "",
        "The machine has 2 cores; a load average above 2 means other processes competed for them during the run, which",
        "makes single runs noisy (PyTorch's OpenMP workers suffer more from oversubscription than CnnNative's pool, so a",
        "loaded machine flatters the ratio): compare runs made at a low load.",
        "",
        "Test accuracy after the single epoch is a sanity check that both sides train the same thing (the seeds, and so the",
        "initial weights and the shuffling, differ between the two implementations).",
        "",
    ]
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
