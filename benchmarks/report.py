#!/usr/bin/env python3
"""Writes docs/benchmarks.md from one run of benchmarks/run.sh (the side-by-side results).

  report.py --out FILE --raw DIR --mode quick|full --elapsed SECONDS --load-before "a b c" --load-after "a b c"

Reads DIR/results/*-report.csv (BenchmarkDotNet's CSV of the kernel suite), DIR/console.log (oneDNN
version and the implementation oneDNN chose per case) and DIR/models/*.json (`cnn bench --json` and
benchmarks/torch_models.py results; several rounds per model and batch, interleaved ours/torch).
"""
import argparse
import csv
import datetime
import glob
import json
import math
import os
import platform
import re
import statistics
import subprocess

IMPLS = ("CnnAvx512", "CnnAvx2", "OneDnn", "CnnAvx512PerCall")


def cpu():
    model, cpus, flags = "unknown", 0, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "processor":
                    cpus += 1
                elif key == "model name" and model == "unknown":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    isas = [name for name, flag in (("AVX2", "avx2"), ("FMA", "fma"), ("AVX-512F", "avx512f")) if flag in flags]
    return model, cpus, isas


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def number(text):
    try:
        return float((text or "").replace(",", "").strip())
    except ValueError:
        return None


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt(value, digits=2, suffix=""):
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def kernel_rows(raw):
    rows = []
    for path in sorted(glob.glob(os.path.join(raw, "results", "*-report.csv"))):
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    rows = [r for r in rows if "Case" in r]  # the side-by-side suite only
    if not rows:
        return None, []
    median_col = next(c for c in rows[0] if c.startswith("Median"))
    cases, order = {}, []
    for r in rows:
        key = (r["Case"], int(r["Batch"]), int(r["Threads"]))
        if key not in cases:
            cases[key] = {}
            order.append(key)
        cases[key][r["Impl"]] = (number(r[median_col]), number(r.get("GFLOP/s")))
    job = rows[0]
    settings = f"{job.get('WarmupCount', '?')} warm-up + {job.get('IterationCount', '?')} iterations of {job.get('IterationTime', '?')} (at least one call each), in process"
    return settings, [(key, cases[key]) for key in order]


def onednn_info(raw):
    """oneDNN's and CnnNative's versions and oneDNN's implementation per case, from the suite's console log."""
    version, ours, impls = "unknown", "", {}
    try:
        with open(os.path.join(raw, "console.log"), errors="replace") as f:
            for line in f:
                m = re.match(r"// oneDNN: (.*?); CnnNative (.*)", line)
                if m:
                    version, ours = m.group(1), m.group(2).strip()
                m = re.match(r"// oneDNN implementation for (.*) batch (\d+), (\d+) thread\(s\): (.*)", line)
                if m:
                    impls[(m.group(1), int(m.group(2)), int(m.group(3)))] = m.group(4).strip()
    except OSError:
        pass
    return version, ours, impls


def model_results(raw):
    """(model, batch) -> {framework: [all timed runs in ms]}, plus metadata of the last result seen."""
    table, meta = {}, {}
    for path in sorted(glob.glob(os.path.join(raw, "models", "*.json"))):
        with open(path) as f:
            data = json.load(f)
        for r in data if isinstance(data, list) else [data]:
            table.setdefault((r["model"], r["batch"]), {}).setdefault(r["framework"], []).extend(r["times_ms"])
            meta[r["framework"]] = r
    return table, meta


def fragment(raw, name, title, what):
    """RAW/NAME.md (a section the benchmarks project wrote) as lines, or a heading saying it did not run."""
    path = os.path.join(raw, name + ".md")
    if not os.path.exists(path):
        return ["", f"## {title}", "", f"{what} did not run (see docs/benchmarks-raw/{name}.log)."]
    with open(path) as f:
        return [""] + f.read().rstrip().split("\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--raw", required=True)
    p.add_argument("--mode", default="full")
    p.add_argument("--elapsed", type=int, default=0)
    p.add_argument("--load-before", default="unknown")
    p.add_argument("--load-after", default="unknown")
    p.add_argument("--failures", default="")
    a = p.parse_args()

    model, cpus, isas = cpu()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = run("git", "rev-parse", "--short", "HEAD") or "uncommitted"
    dirty = " (with uncommitted changes)" if run("git", "status", "--porcelain", "--untracked-files=no") else ""
    onednn_version, ours_version, onednn_impls = onednn_info(a.raw)
    job, kernels = kernel_rows(a.raw)
    models, meta = model_results(a.raw)
    torch_version = meta.get("torch", {}).get("version", "not run")
    ours = meta.get("cnnnative", {})

    lines = [
        "# Benchmarks: CnnNative side by side with oneDNN, ONNX Runtime and libtorch",
        "",
        f"Generated by `./build.sh bench{' --quick' if a.mode == 'quick' else ''}` (benchmarks/run.sh) on {now}, "
        f"{a.elapsed // 60} min {a.elapsed % 60} s. Do not edit by hand.",
        "",
        f"- Machine: {model}, {cpus} hardware thread(s), {', '.join(isas) or 'no AVX2'}; {platform.system()} {platform.release()}",
        f"- Load average (1/5/15 min) before: {a.load_before}; after: {a.load_after}. The machine is shared: every ratio",
        "  below compares runs made next to each other in the same run, never numbers from different runs.",
        f"- CnnNative {ours.get('version', ours_version)} commit {commit}{dirty}; .NET SDK {run('dotnet', '--version')}",
        f"- OpenMP (oneDNN's and PyTorch's threads): OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY') or 'unset (libgomp default: spin, then sleep)'}",
        f"- oneDNN {onednn_version} (Debian libdnnl, through benchmarks/onednn-shim); PyTorch {torch_version} (Debian python3-torch, torchvision models)",
        f"- Mode: {'QUICK smoke run (few cases, short job): indicative only' if a.mode == 'quick' else 'full'}",
    ]
    loads = [number(x.split()[0]) for x in (a.load_before, a.load_after) if x.split()]
    if cpus and any(l is not None and l > cpus for l in loads):
        lines.append(
            f"- **Warning: the machine was oversubscribed (1-min load above {cpus}).** 2-thread rows then mostly measure how each "
            "runtime's threads cope with preemption: oneDNN and PyTorch use OpenMP (static work split, spinning barriers: a "
            "preempted worker stalls the whole call), CnnNative's pool polls for at most 100 us (yielding) and then sleeps on a condition variable. Trust the 1-thread rows "
            "for kernel speed, and re-run on a quiet machine.")
    if a.failures:
        lines.append(f"- Failures: {a.failures}")

    lines += ["", "## Kernels", ""]
    if not kernels:
        lines.append("The kernel suite did not run or exported nothing (see docs/benchmarks-raw/console.log).")
    else:
        lines += [
            f"BenchmarkDotNet ({job}); median time of one call. float32, NCHW input. CnnNative runs with an AVX-512",
            "context (ops without an AVX-512 kernel fall back to AVX2) and with an AVX2 context; oneDNN chooses its own",
            "layouts (format `any`) for convolutions, and the input and weights are reordered into them once at create",
            "time, outside the timed call: oneDNN's best case (a network kept in its blocked layout end to end). Its pooling",
            "and batch norm run on that blocked layout too (nChw16c with AVX-512), input reordered at create; CnnNative runs",
            "everything on plain NCHW. CnnNative's convolutions get the same treatment as oneDNN's primitives: each case",
            "creates a `Conv2dPlan` in setup (weights copied, and for Winograd transformed, once; the algorithm chosen for",
            "the ISA), and the timed call is the plan's forward, as in an `InferenceSession`. oneDNN's output is checked",
            "against CnnNative's in setup.",
            "GFLOP/s = FLOPs of one call / median (conv 2·N·OC·OH·OW·IC/groups·KH·KW; max pool 1 per window element;",
            "batch norm 2 per element). Ratio = our time / oneDNN's time (below 1: we are faster).",
            "",
        ]
        # run.sh --per-call adds the stateless conv (Functional.Conv2d, weights packed in every call) on AVX-512.
        per_call = any(impls.get("CnnAvx512PerCall") for _, impls in kernels)
        if per_call:
            lines[-2] += " The column \"AVX-512 per call\" is the stateless `Functional.Conv2d` (weights packed in every call)."
        lines += [
            "| Case | Batch | Threads | Ours AVX-512 ms | Ours AVX2 ms | oneDNN ms | GFLOP/s ours (512) / oneDNN | Ratio AVX-512 | Ratio AVX2 | oneDNN impl |"
            + (" AVX-512 per call ms |" if per_call else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|" + ("---:|" if per_call else ""),
        ]
        groups = {}
        for (name, batch, threads), impls in kernels:
            t = {impl: (impls.get(impl) or (None, None))[0] for impl in IMPLS}
            g = {impl: (impls.get(impl) or (None, None))[1] for impl in IMPLS}
            ms = {impl: (t[impl] / 1000.0 if t[impl] else None) for impl in IMPLS}
            r512 = t["CnnAvx512"] / t["OneDnn"] if t["CnnAvx512"] and t["OneDnn"] else None
            r2 = t["CnnAvx2"] / t["OneDnn"] if t["CnnAvx2"] and t["OneDnn"] else None
            groups.setdefault((batch, threads), []).append((r512, r2))
            lines.append(
                f"| {name} | {batch} | {threads} | {fmt(ms['CnnAvx512'], 3)} | {fmt(ms['CnnAvx2'], 3)} | {fmt(ms['OneDnn'], 3)} | "
                f"{fmt(g['CnnAvx512'], 1)} / {fmt(g['OneDnn'], 1)} | {fmt(r512, 2, 'x')} | {fmt(r2, 2, 'x')} | "
                f"{onednn_impls.get((name, batch, threads), 'n/a')} |"
                + (f" {fmt(ms['CnnAvx512PerCall'], 3)} |" if per_call else ""))
        lines += [
            "",
            "Geometric mean of the time ratios (ours / oneDNN) per batch and thread count:",
            "",
            "| Batch | Threads | Cases | AVX-512 / oneDNN | AVX2 / oneDNN |",
            "|---:|---:|---:|---:|---:|",
        ]
        for (batch, threads), ratios in sorted(groups.items()):
            lines.append(f"| {batch} | {threads} | {len(ratios)} | {fmt(geomean([r[0] for r in ratios]), 2, 'x')} | "
                         f"{fmt(geomean([r[1] for r in ratios]), 2, 'x')} |")

    # The peers and training sections are written as markdown by the benchmarks project itself.
    lines += fragment(a.raw, "peers", "Models: CnnNative vs ONNX Runtime and libtorch", "The peer runs")
    lines += fragment(a.raw, "train", "Training: CnnNative vs libtorch 2.10", "The training suite")

    lines += ["", "## Models (history): CnnNative vs Debian's PyTorch 1.13, separate processes", ""]
    if not models:
        lines.append("The model runs did not run.")
    else:
        rounds = meta.get("cnnnative", meta.get("torch", {}))
        lines += [
            "Inference of a whole network, random weights, eval mode, no autograd, input [batch, 3, 224, 224], "
            f"{rounds.get('threads', '?')} threads on both sides. Ours: `cnn bench` (runner {ours.get('runner', '?')}, isa {ours.get('isa', '?')}); "
            "torch: benchmarks/torch_models.py (torchvision model, `torch.no_grad()`, `set_num_threads`). Each (model, batch) is",
            "run in rounds alternating ours and torch (fresh processes, warm-up runs first); the median is over all timed",
            "runs of all rounds. Ratio = our images/s / torch's (above 1: we are faster).",
            "",
            "| Model | Batch | Ours ms | Torch ms | Ours img/s | Torch img/s | Ratio (img/s) | Runs (ours / torch) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for (name, batch), by in sorted(models.items(), key=lambda kv: (list(MODEL_ORDER).index(kv[0][0]) if kv[0][0] in MODEL_ORDER else 99, kv[0][1])):
            o, t = by.get("cnnnative"), by.get("torch")
            om, tm = (statistics.median(o) if o else None), (statistics.median(t) if t else None)
            oi, ti = (batch / (om / 1000) if om else None), (batch / (tm / 1000) if tm else None)
            ratio = oi / ti if oi and ti else None
            lines.append(f"| {name} | {batch} | {fmt(om)} | {fmt(tm)} | {fmt(oi, 1)} | {fmt(ti, 1)} | {fmt(ratio, 2, 'x')} | "
                         f"{len(o or [])} / {len(t or [])} |")

    lines += ["", "Raw outputs (BenchmarkDotNet CSV/markdown/log, model JSON) are in `docs/benchmarks-raw/` (not committed).", ""]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print(f"report.py: wrote {a.out}")


MODEL_ORDER = ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "alexnet")

if __name__ == "__main__":
    main()
