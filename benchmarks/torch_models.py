#!/usr/bin/python3
"""Inference latency of torchvision models in PyTorch: the peer of `cnn bench` (benchmarks/run.sh).

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision 0.14). For each model and
batch size: random weights (seeded), eval(), torch.no_grad(), torch.set_num_threads(THREADS), a fixed
random input [batch, 3, 224, 224]; WARMUP untimed forward passes, then ITERATIONS timed ones. Prints
one line per measurement and writes a JSON list (same fields as `cnn bench --json`).

  /usr/bin/python3 benchmarks/torch_models.py --models resnet18,resnet50 --batch 1,16 --threads 2 \
      --iterations 10 --json out.json
"""
import argparse
import json
import re
import statistics
import sys
import time

import torch
import torchvision

MODELS = ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "alexnet")


def cpu_capability():
    """The kernel family ATen dispatches to, from the build summary ("CPU capability usage: AVX2")."""
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1).lower() if m else "n/a"


def time_model(name, batch, threads, iterations, warmup, seed):
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 1))
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        for _ in range(iterations):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1000.0)
    median = statistics.median(times)
    return {
        "framework": "torch",
        "model": name,
        "batch": batch,
        "threads": threads,
        "isa": cpu_capability(),
        "runner": "eager",
        "version": torch.__version__,
        "warmup": warmup,
        "times_ms": times,
        "median_ms": median,
        "images_per_second": batch / (median / 1000.0),
    }


def csv_list(text, kind=str):
    return [kind(t) for t in text.split(",") if t.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated torchvision names")
    parser.add_argument("--batch", default="1,16", help="comma-separated batch sizes")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (intra-op threads)")
    parser.add_argument("--iterations", type=int, default=10, help="timed forward passes (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed forward passes first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results (a JSON list) to this file")
    args = parser.parse_args()

    models = csv_list(args.models)
    unknown = [m for m in models if m not in MODELS]
    if unknown or args.threads < 1 or args.iterations < 1 or args.warmup < 0:
        parser.error(f"bad arguments (unknown models {unknown}; known: {', '.join(MODELS)})")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    results = []
    for name in models:
        for batch in csv_list(args.batch, int):
            r = time_model(name, batch, args.threads, args.iterations, args.warmup, args.seed)
            results.append(r)
            print(f"torch {torch.__version__} {name} batch {batch}, {args.threads} thread(s): median {r['median_ms']:.2f} ms "
                  f"(min {min(r['times_ms']):.2f}, max {max(r['times_ms']):.2f}) -> {r['images_per_second']:.1f} images/s",
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
