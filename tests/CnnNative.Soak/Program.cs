using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using CnnNative;
using CnnNative.Soak;

// CnnNative.Soak [minutes=10] [threads=8] [output-dir]: the soak test behind `./build.sh soak`.
// Workers mix InferenceSession.Run, eager forward, training steps and model load/dispose; every result must equal
// the single-threaded reference bit for bit. Memory (RSS, the library's live native bytes, the managed heap) is
// sampled every second into samples.csv. Pass rule (after a warm-up of 20% of the run, at least 10 s, at most 2 min):
// the maximum of each series over the last half of the run stays within its tolerance of the maximum over the first
// quarter after warm-up (RSS 10% + 16 MiB, native live bytes 10% + 4 MiB, managed heap after GC 25% + 16 MiB), and
// there is no error and no mismatch.
var inv = CultureInfo.InvariantCulture;
double minutes = args.Length > 0 ? double.Parse(args[0], inv) : 10;
int threads = args.Length > 1 ? int.Parse(args[1], inv) : 8;
string outDir = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), $"cnnsoak-{Environment.ProcessId}");
Directory.CreateDirectory(outDir);
var duration = TimeSpan.FromMinutes(minutes);

Cnn.NumThreads = 1;
NativeMemoryStats startStats = Cnn.MemoryStats();
var workload = new Workload(outDir);
Console.WriteLine(string.Create(inv, $"soak: {threads} threads for {duration.TotalMinutes:F1} min, ISA {Cnn.Isa}, ops: {string.Join(", ", Workload.Names)}"));

var errors = new ConcurrentQueue<string>();
long[] done = new long[Workload.Names.Length];
long mismatches = 0;
using var stop = new CancellationTokenSource();
var workers = Enumerable.Range(0, threads).Select(w => new Thread(() =>
{
    Cnn.NumThreads = 1; // as the reference: results must not depend on the other threads
    var rng = new Random(w);
    while (!stop.IsCancellationRequested)
    {
        int op = rng.Next(Workload.Names.Length);
        try
        {
            float[] result = workload.Run(op);
            if (!MemoryMarshal.AsBytes(result.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(workload.References[op].AsSpan())))
            {
                if (Interlocked.Increment(ref mismatches) <= 5)
                    errors.Enqueue($"worker {w}: {Workload.Names[op]} differs from the single-threaded result ({Diff(result, workload.References[op])})");
            }
        }
        catch (Exception e)
        {
            errors.Enqueue($"worker {w}: {Workload.Names[op]}: {e}");
            if (errors.Count > 20) stop.Cancel();
        }

        Interlocked.Increment(ref done[op]);
    }
}) { IsBackground = true, Name = $"soak-{w}" }).ToList();

var samples = new List<Sample>();
using var csv = new StreamWriter(Path.Combine(outDir, "samples.csv"));
csv.WriteLine("seconds,rss_bytes,native_live_bytes,native_live_blocks,managed_heap_bytes,gc_count,ops");
var clock = Stopwatch.StartNew();
workers.ForEach(t => t.Start());
while (clock.Elapsed < duration && !stop.IsCancellationRequested)
{
    Thread.Sleep(1000);
    NativeMemoryStats native = Cnn.MemoryStats();
    var s = new Sample(clock.Elapsed.TotalSeconds, StatusBytes("VmRSS"), native.LiveBytes, native.LiveBlocks,
        GC.GetGCMemoryInfo().HeapSizeBytes, GC.CollectionCount(0), done.Sum());
    samples.Add(s);
    csv.WriteLine(string.Create(inv, $"{s.Seconds:F1},{s.Rss},{s.NativeBytes},{s.NativeBlocks},{s.ManagedHeap},{s.GcCount},{s.Ops}"));
    if (samples.Count % 60 == 0)
        Console.WriteLine(string.Create(inv, $"  {s.Seconds,5:F0} s: rss {Mib(s.Rss)}, native {Mib(s.NativeBytes)} in {s.NativeBlocks} blocks, managed heap {Mib(s.ManagedHeap)}, {s.Ops:N0} ops"));
}

stop.Cancel();
workers.ForEach(t => t.Join());
workload.Dispose();
GC.Collect();
GC.WaitForPendingFinalizers();
NativeMemoryStats endStats = Cnn.MemoryStats();

// ---- verdict --------------------------------------------------------------------------------------------
double total = clock.Elapsed.TotalSeconds;
double warmup = Math.Clamp(0.2 * total, 10, 120);
double baselineEnd = warmup + (total - warmup) / 4;
var baseline = samples.Where(s => s.Seconds >= warmup && s.Seconds < baselineEnd).ToList();
var last = samples.Where(s => s.Seconds >= total / 2).ToList();
bool ok = errors.IsEmpty && mismatches == 0 && baseline.Count > 0 && last.Count > 0;
Console.WriteLine(string.Create(inv, $"soak: {done.Sum():N0} operations in {total:F0} s ({string.Join(", ", Workload.Names.Select((n, i) => $"{n} {done[i]:N0}"))}), {mismatches} mismatches, {errors.Count} errors"));
Console.WriteLine(string.Create(inv, $"  windows: warm-up 0-{warmup:F0} s, baseline {warmup:F0}-{baselineEnd:F0} s ({baseline.Count} samples), checked {total / 2:F0}-{total:F0} s ({last.Count} samples)"));
if (baseline.Count > 0 && last.Count > 0)
{
    ok &= Check("RSS", s => s.Rss, 0.10, 16L << 20);
    ok &= Check("native live bytes", s => s.NativeBytes, 0.10, 4L << 20);
    ok &= Check("managed heap", s => s.ManagedHeap, 0.25, 16L << 20);
    var after = samples.Where(s => s.Seconds >= warmup).ToList();
    Console.WriteLine(string.Create(inv, $"  RSS trend after warm-up: {Slope(after, s => s.Rss) * 60 / (1 << 20):+0.00;-0.00} MiB/min (least squares; informational)"));
}

Console.WriteLine(string.Create(inv, $"  native live bytes: {startStats.LiveBytes:N0} before, {endStats.LiveBytes:N0} after everything was disposed ({endStats.LiveBlocks - startStats.LiveBlocks:+0;-0} blocks; worker threads' scratch goes with their contexts)"));
foreach (string e in errors.Take(10)) Console.WriteLine("  ERROR " + e);
Console.WriteLine($"  samples: {Path.Combine(outDir, "samples.csv")}");
Console.WriteLine($"soak: {(ok ? 1 : 0)} passed, {(ok ? 0 : 1)} failed");
return ok ? 0 : 1;

bool Check(string what, Func<Sample, long> value, double relative, long absolute)
{
    long reference = baseline.Max(value);
    long peak = last.Max(value);
    long limit = (long)(reference * (1 + relative)) + absolute;
    bool pass = peak <= limit;
    Console.WriteLine(string.Create(inv, $"  {what}: baseline max {Mib(reference)}, last-half max {Mib(peak)}, limit {Mib(limit)} ({relative:P0} + {Mib(absolute)}): {(pass ? "ok" : "GROWTH")}"));
    return pass;
}

static double Slope(List<Sample> s, Func<Sample, long> value)
{
    double mx = s.Average(x => x.Seconds), my = s.Average(x => (double)value(x));
    double num = s.Sum(x => (x.Seconds - mx) * (value(x) - my)), den = s.Sum(x => (x.Seconds - mx) * (x.Seconds - mx));
    return den == 0 ? 0 : num / den;
}

static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB");

static string Diff(float[] a, float[] b)
{
    if (a.Length != b.Length) return $"{a.Length} values, expected {b.Length}";
    int first = Enumerable.Range(0, a.Length).First(i => BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]));
    return string.Create(CultureInfo.InvariantCulture, $"first at [{first}]: {a[first]:R} vs {b[first]:R}");
}

static long StatusBytes(string field)
{
    foreach (string line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith(field + ":", StringComparison.Ordinal))
            return 1024 * long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
    }

    throw new InvalidOperationException($"/proc/self/status has no {field}");
}

internal readonly record struct Sample(double Seconds, long Rss, long NativeBytes, long NativeBlocks, long ManagedHeap, int GcCount, long Ops);
