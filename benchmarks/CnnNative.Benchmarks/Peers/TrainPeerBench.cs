using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace CnnNative.Benchmarks.Peers;

using TT = TorchSharp.torch.Tensor; // inside the namespace: CnnNative.Tensor would win otherwise

/// <summary>
/// Training steps side by side in one process: CnnNative (<see cref="ModelZoo"/> model, <see cref="Adam"/>,
/// cross-entropy, training mode with batch statistics) against libtorch 2.10 (TorchSharp; TorchVision's
/// definition of the same model, torch.optim.Adam, cross-entropy), same shapes, random data, 1 and 2 threads.
/// Rounds alternate the two; a round runs steps until <c>--round-ms</c> has passed and keeps the median step;
/// the result is the median over rounds. Our step is also broken down by phase (forward + loss, backward by
/// node kind via <see cref="Autograd.ProfileBackward"/>, optimizer) over extra profiled steps, so every change
/// shows where it moved time.
///
///   CnnNative.Benchmarks --train-peers [--cases resnet18:3x64x64:32,...] [--threads 1,2] [--rounds 5] [--round-ms 3000]
///                        [--markdown OUT.md] [--json OUT.json]
/// </summary>
public static class TrainPeerBench
{
    /// <summary>The suite of issue 16: model:CxHxW:batch.</summary>
    public const string DefaultCases = "resnet18:3x64x64:32,resnet50:3x64x64:32,mobilenet_v2:3x64x64:32,vgg11_bn:3x32x32:64,lenet5:1x28x28:64";

    private sealed record Case(string Model, int[] Chw, int Batch)
    {
        public override string ToString() => $"{Model} {string.Join("x", Chw)} batch {Batch}";
    }

    /// <summary>One (case, threads) measurement.</summary>
    public sealed record Result(string Case, int Threads, double OursMs, double TorchMs, double[] OursRounds, double[] TorchRounds,
        Dictionary<string, double> OursPhasesMs);

    public static int Run(string[] args)
    {
        string cases = DefaultCases, threadList = "1,2";
        string? md = null, json = null;
        int rounds = 5;
        double roundMs = 3000;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--train-peers": break;
                case "--cases": cases = Next(); break;
                case "--threads": threadList = Next(); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--round-ms": roundMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--markdown": md = Next(); break;
                case "--json": json = Next(); break;
                default:
                    Console.Error.WriteLine($"--train-peers: unknown option '{args[i]}'");
                    return 2;
            }
        }

        var parsed = cases.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => c.Split(':'))
            .Select(p => new Case(p[0], p[1].Split('x').Select(int.Parse).ToArray(), int.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
        int[] threads = threadList.Split(',').Select(int.Parse).ToArray();
        string header = string.Create(CultureInfo.InvariantCulture,
            $"CPU: {MachineInfo.CpuModel()}, {Environment.ProcessorCount} hardware threads; measured FMA peak per core (fp32): AVX2 {MachineInfo.FmaPeakGflops(256, 1):F0} GFLOP/s, AVX-512 {MachineInfo.FmaPeakGflops(512, 1):F0} GFLOP/s; CnnNative ISA {Cnn.Isa}; libtorch {__version__}");
        Console.WriteLine("// " + header);

        var results = new List<Result>();
        foreach (Case c in parsed)
        {
            foreach (int t in threads)
            {
                results.Add(Measure(c, t, rounds, roundMs));
                Result r = results[^1];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"// {c}, {t} thread(s): ours {r.OursMs:F1} ms/step ({c.Batch / r.OursMs * 1000:F1} img/s), libtorch {r.TorchMs:F1} ms/step ({c.Batch / r.TorchMs * 1000:F1} img/s), ratio {r.TorchMs / r.OursMs:F2}x"));
            }
        }

        string markdown = Markdown(header, results);
        Console.WriteLine(markdown);
        if (md is not null)
        {
            File.WriteAllText(md, markdown);
        }
        if (json is not null)
        {
            File.WriteAllText(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }

    private static Result Measure(Case c, int threads, int rounds, double roundMs)
    {
        int[] shape = [c.Batch, .. c.Chw];
        var rng = new Random(7);
        var x = new float[shape.Aggregate(1, (a, d) => a * d)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        int[] labels = Enumerable.Range(0, c.Batch).Select(_ => rng.Next(10)).ToArray();

        using var ours = new OursStep(c.Model, shape, x, labels, threads);
        using var theirs = new TorchStep(c.Model, shape, x, labels, threads);
        for (int i = 0; i < 2; i++)
        {
            ours.Step();
            theirs.Step();
        }
        var oursRounds = new List<double>();
        var torchRounds = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which goes first, so neither always follows the other's cache and frequency state.
            (Action first, List<double> fr, Action second, List<double> sr) = r % 2 == 0
                ? ((Action)ours.Step, oursRounds, (Action)theirs.Step, torchRounds)
                : (theirs.Step, torchRounds, ours.Step, oursRounds);
            Thread.Sleep(30);
            fr.Add(TimeRound(first, roundMs));
            Thread.Sleep(30);
            sr.Add(TimeRound(second, roundMs));
        }
        return new Result(c.ToString(), threads, Median(oursRounds), Median(torchRounds), [.. oursRounds], [.. torchRounds], ours.Phases(3));
    }

    private static double TimeRound(Action step, double roundMs)
    {
        var times = new List<double>();
        long start = Stopwatch.GetTimestamp();
        while (times.Count < 3 || Stopwatch.GetElapsedTime(start).TotalMilliseconds < roundMs)
        {
            long t0 = Stopwatch.GetTimestamp();
            step();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return Median(times);
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    private static string Markdown(string header, List<Result> results)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("## Training: CnnNative vs libtorch 2.10, same model, shapes and optimizer, one process");
        sb.AppendLine();
        sb.AppendLine(header + ".");
        sb.AppendLine();
        sb.AppendLine("Adam, cross-entropy over 10 classes, training mode (batch-norm batch statistics), random data. Median ms per step over alternating rounds. Ratio = our images/s / libtorch's (above 1.0 we are faster).");
        sb.AppendLine();
        sb.AppendLine("| case | threads | ours ms/step | ours img/s | libtorch ms/step | libtorch img/s | ratio |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (Result r in results)
        {
            int batch = int.Parse(r.Case[(r.Case.LastIndexOf(' ') + 1)..], inv);
            sb.AppendLine(string.Create(inv, $"| {r.Case} | {r.Threads} | {r.OursMs:F1} | {batch / r.OursMs * 1000:F1} | {r.TorchMs:F1} | {batch / r.TorchMs * 1000:F1} | {r.TorchMs / r.OursMs:F2}x |"));
        }
        foreach (var g in results.GroupBy(r => r.Case))
        {
            Result? one = g.FirstOrDefault(r => r.Threads == 1), two = g.FirstOrDefault(r => r.Threads == 2);
            if (one is not null && two is not null)
            {
                sb.AppendLine();
                sb.AppendLine(string.Create(inv, $"- {g.Key}: 1 -> 2 threads: ours {one.OursMs / two.OursMs:F2}x, libtorch {one.TorchMs / two.TorchMs:F2}x."));
            }
        }
        sb.AppendLine();
        sb.AppendLine("Our step by phase (ms per step, mean of 3 profiled steps after the timed rounds; backward by autograd node kind):");
        sb.AppendLine();
        foreach (Result r in results)
        {
            string phases = string.Join(", ", r.OursPhasesMs.OrderByDescending(kv => kv.Value).Select(kv => string.Create(inv, $"{kv.Key} {kv.Value:F1}")));
            sb.AppendLine($"- {r.Case}, {r.Threads} thread(s): {phases}");
        }
        return sb.ToString();
    }

    /// <summary>Our training step: zoo model, Adam, cross-entropy.</summary>
    private sealed class OursStep : IDisposable
    {
        private readonly Module _model;
        private readonly Adam _optimizer;
        private readonly Tensor _x;
        private readonly int[] _labels;
        private readonly int _threads;

        public OursStep(string model, int[] shape, float[] x, int[] labels, int threads)
        {
            Cnn.ManualSeed(0);
            _model = ModelZoo.Create(model, 10);
            _model.Train();
            _optimizer = new Adam(_model.Parameters(), lr: 1e-3f);
            _x = Tensor.FromArray(x, shape);
            _labels = labels;
            _threads = threads;
        }

        public void Step()
        {
            Cnn.NumThreads = _threads;
            _optimizer.ZeroGrad();
            using (Tensor logits = _model.Forward(_x))
            using (Tensor loss = Functional.CrossEntropy(logits, _labels))
            {
                loss.Backward();
            }
            _optimizer.Step();
        }

        /// <summary>Mean ms per phase over <paramref name="steps"/> profiled steps.</summary>
        public Dictionary<string, double> Phases(int steps)
        {
            Cnn.NumThreads = _threads;
            double forward = 0, backward = 0, optimizer = 0;
            using BackwardProfile profile = Autograd.ProfileBackward();
            for (int i = 0; i < steps; i++)
            {
                _optimizer.ZeroGrad();
                long t0 = Stopwatch.GetTimestamp();
                Tensor logits = _model.Forward(_x);
                Tensor loss = Functional.CrossEntropy(logits, _labels);
                long t1 = Stopwatch.GetTimestamp();
                loss.Backward();
                long t2 = Stopwatch.GetTimestamp();
                loss.Dispose();
                logits.Dispose();
                _optimizer.Step();
                long t3 = Stopwatch.GetTimestamp();
                forward += Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
                backward += Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
                optimizer += Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
            }
            var phases = new Dictionary<string, double>
            {
                ["forward+loss"] = forward / steps,
                ["optimizer"] = optimizer / steps,
            };
            double nodes = 0;
            foreach ((string node, (TimeSpan time, int _)) in profile.ByNode)
            {
                phases["bwd " + node] = time.TotalMilliseconds / steps;
                nodes += time.TotalMilliseconds / steps;
            }
            phases["bwd engine (between nodes)"] = Math.Max(0, (backward / steps) - nodes);
            return phases;
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _x.Dispose();
            _model.Dispose();
        }
    }

    /// <summary>libtorch's step: TorchVision's definition (LeNet-5 written out as ours is), torch.optim.Adam, cross-entropy.</summary>
    private sealed class TorchStep : IDisposable
    {
        private readonly nn.Module<TT, TT> _model;
        private readonly optim.Optimizer _optimizer;
        private readonly TT _x;
        private readonly TT _labels;
        private readonly int _threads;

        public TorchStep(string model, int[] shape, float[] x, int[] labels, int threads)
        {
            manual_seed(0);
            _model = model switch
            {
                "lenet5" => nn.Sequential(
                    nn.Conv2d(1, 6, 5, padding: 2), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                    nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
                "resnet18" => torchvision.models.resnet18(num_classes: 10),
                "resnet50" => torchvision.models.resnet50(num_classes: 10),
                "mobilenet_v2" => torchvision.models.mobilenet_v2(num_classes: 10),
                "vgg11_bn" => torchvision.models.vgg11_bn(num_classes: 10),
                _ => throw new ArgumentException($"no libtorch definition for '{model}' in the training suite"),
            };
            _model.train();
            _optimizer = optim.Adam(_model.parameters(), lr: 1e-3);
            _x = tensor(x, Array.ConvertAll(shape, d => (long)d));
            _labels = tensor(Array.ConvertAll(labels, l => (long)l), [labels.Length]);
            _threads = threads;
        }

        public void Step()
        {
            set_num_threads(_threads);
            using var scope = NewDisposeScope();
            _optimizer.zero_grad();
            TT loss = nn.functional.cross_entropy(_model.call(_x), _labels);
            loss.backward();
            _optimizer.step();
        }

        public void Dispose()
        {
            _x.Dispose();
            _labels.Dispose();
            _model.Dispose();
        }
    }
}
