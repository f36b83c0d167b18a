using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CnnNative.Benchmarks.Peers;

/// <summary>
/// Whole models side by side in ONE process on the SAME ONNX file and input: CnnNative, ONNX Runtime and
/// libtorch (TorchSharp; TorchVision's definition of the model). Per configuration (model, batch, threads)
/// each runner is warmed up, then rounds alternate the runners (order rotated every round, a short pause
/// between runners so another framework's spinning workers have stopped); a round times single forward
/// passes until it has run for at least <c>--round-ms</c> (and at least 3 passes) and keeps their median;
/// the result is the median over rounds. Ratios are only ever taken between runners of the same run.
///
///   CnnNative.Benchmarks --peers --onnx-dir DIR --models resnet18,mobilenet_v2 [--configs 1x1,1x2,16x2]
///                        [--rounds 5] [--round-ms 400] [--json OUT.json] [--markdown OUT.md]
/// A configuration BxT is batch B on T threads. Model files are DIR/NAME.onnx (dynamic batch), input
/// [B, 3, S, S] with S from DIR/NAME.shape ("3,224,224") if present, else 3x224x224.
/// </summary>
public static class PeerBench
{
    private sealed record Settings(string OnnxDir, string[] Models, (int Batch, int Threads)[] Configs, int Rounds, double RoundMs,
        string? Json, string? Markdown);

    /// <summary>One runner's result in one configuration.</summary>
    public sealed record Result(string Model, int Batch, int Threads, string Framework, double MedianMs, double[] RoundMs, string Note);

    public static int Run(string[] args)
    {
        Settings s;
        try
        {
            s = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"--peers: {e.Message}");
            return 2;
        }

        string cpu = MachineInfo.CpuModel();
        double peak256 = MachineInfo.FmaPeakGflops(256, 1), peak512 = MachineInfo.FmaPeakGflops(512, 1);
        string header = string.Create(CultureInfo.InvariantCulture,
            $"CPU: {cpu}, {Environment.ProcessorCount} hardware threads; measured FMA peak per core (fp32): AVX2 {peak256:F0} GFLOP/s, AVX-512 {(peak512 > 0 ? peak512.ToString("F0", CultureInfo.InvariantCulture) + " GFLOP/s" : "n/a")}; CnnNative ISA {Cnn.Isa}");
        Console.WriteLine("// " + header);

        var results = new List<Result>();
        var failures = new List<string>();
        foreach (string model in s.Models)
        {
            string path = Path.Combine(s.OnnxDir, model + ".onnx");
            if (!File.Exists(path))
            {
                failures.Add($"{model}: {path} not found");
                continue;
            }
            int[] chw = ReadShape(Path.Combine(s.OnnxDir, model + ".shape"));
            foreach ((int batch, int threads) in s.Configs)
            {
                results.AddRange(RunConfig(model, path, [batch, .. chw], threads, s, failures));
            }
        }

        string markdown = Markdown(header, results, failures);
        Console.WriteLine(markdown);
        if (s.Markdown is not null)
        {
            File.WriteAllText(s.Markdown, markdown);
        }
        if (s.Json is not null)
        {
            File.WriteAllText(s.Json, JsonSerializer.Serialize(new { cpu, peak256, peak512, results, failures }, new JsonSerializerOptions { WriteIndented = true }));
        }
        return failures.Count == 0 ? 0 : 1;
    }

    private static List<Result> RunConfig(string model, string path, int[] shape, int threads, Settings s, List<string> failures)
    {
        var rng = new Random(1);
        var input = new float[shape.Aggregate(1, (a, d) => a * d)];
        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (float)(rng.NextDouble() * 2 - 1);
        }

        var runners = new List<IModelRunner>();
        var notes = new Dictionary<IModelRunner, string>();
        void TryAdd(string name, Func<IModelRunner?> create)
        {
            try
            {
                IModelRunner? r = create();
                if (r is not null)
                {
                    runners.Add(r);
                    notes[r] = r.Describe();
                    Console.WriteLine($"// {model} b{shape[0]} t{threads}: {notes[r]}");
                }
            }
            catch (Exception e)
            {
                failures.Add($"{model} batch {shape[0]} threads {threads}: {name} could not run it: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                Console.WriteLine("// " + failures[^1]);
            }
        }

        TryAdd("CnnNative", () => new CnnNativeRunner(path, shape, threads, input));
        TryAdd("ONNX Runtime", () => new OrtRunner(path, shape, threads, input));
        TryAdd("libtorch", () =>
        {
            TorchRunner? t = TorchRunner.TryCreate(model, shape, threads, input, out string? why);
            if (t is null)
            {
                Console.WriteLine($"// {model}: {why}");
            }
            return t;
        });

        try
        {
            foreach (IModelRunner r in runners)
            {
                r.BeforeRound();
                for (int i = 0; i < 3; i++)
                {
                    r.Run();
                }
            }
            var rounds = runners.ToDictionary(r => r, _ => new List<double>());
            for (int round = 0; round < s.Rounds; round++)
            {
                for (int k = 0; k < runners.Count; k++)
                {
                    IModelRunner r = runners[(round + k) % runners.Count];
                    Thread.Sleep(30); // let the previous framework's spinning workers go idle
                    r.BeforeRound();
                    rounds[r].Add(TimeRound(r, s.RoundMs));
                }
            }
            return runners.Select(r => new Result(model, shape[0], threads, r.Framework, Median(rounds[r]), [.. rounds[r]], notes[r])).ToList();
        }
        finally
        {
            runners.ForEach(r => r.Dispose());
        }
    }

    private static double TimeRound(IModelRunner r, double roundMs)
    {
        var times = new List<double>();
        long start = Stopwatch.GetTimestamp();
        while (times.Count < 3 || Stopwatch.GetElapsedTime(start).TotalMilliseconds < roundMs)
        {
            long t0 = Stopwatch.GetTimestamp();
            r.Run();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return Median(times);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    private static string Markdown(string header, List<Result> results, List<string> failures)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("## Models: CnnNative vs ONNX Runtime and libtorch, same ONNX file, same threads, one process");
        sb.AppendLine();
        sb.AppendLine(header + ".");
        sb.AppendLine();
        sb.AppendLine("Median ms per forward pass (median over alternating rounds of per-pass medians). Ratio = the peer's time / ours (images/s ours / peer's; above 1.0 we are faster).");
        sb.AppendLine();
        sb.AppendLine("| model | batch x threads | CnnNative ms | ONNX Runtime ms | ORT / ours | libtorch ms | libtorch / ours |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        var ortRatios = new Dictionary<string, List<double>>();
        foreach (var g in results.GroupBy(r => (r.Model, r.Batch, r.Threads)))
        {
            Result? ours = g.FirstOrDefault(r => r.Framework == "CnnNative");
            Result? ort = g.FirstOrDefault(r => r.Framework.StartsWith("ONNX Runtime", StringComparison.Ordinal));
            Result? torch = g.FirstOrDefault(r => r.Framework.StartsWith("libtorch", StringComparison.Ordinal));
            string Ms(Result? r) => r is null ? "—" : r.MedianMs.ToString("F2", inv);
            string Ratio(Result? peer) => ours is null || peer is null ? "—" : (peer.MedianMs / ours.MedianMs).ToString("F2", inv) + "x";
            sb.AppendLine($"| {g.Key.Model} | {g.Key.Batch} x {g.Key.Threads} | {Ms(ours)} | {Ms(ort)} | {Ratio(ort)} | {Ms(torch)} | {Ratio(torch)} |");
            if (ours is not null && ort is not null)
            {
                string key = $"batch {g.Key.Batch}, {g.Key.Threads} thread(s)";
                (ortRatios.TryGetValue(key, out var list) ? list : ortRatios[key] = []).Add(ort.MedianMs / ours.MedianMs);
            }
        }
        sb.AppendLine();
        foreach ((string key, List<double> ratios) in ortRatios)
        {
            double geo = Math.Exp(ratios.Average(Math.Log));
            sb.AppendLine(string.Create(inv, $"- Geometric mean ORT time / ours, {key}: **{geo:F2}x** over {ratios.Count} model(s); below 1.0x on {ratios.Count(x => x < 1.0)}."));
        }
        foreach (string f in failures)
        {
            sb.AppendLine($"- Not measured: {f}");
        }
        return sb.ToString();
    }

    private static int[] ReadShape(string path) =>
        File.Exists(path) ? File.ReadAllText(path).Trim().Split(',').Select(int.Parse).ToArray() : [3, 224, 224];

    private static Settings Parse(string[] args)
    {
        string? dir = null, json = null, md = null;
        string[] models = [];
        (int, int)[] configs = [(1, 1), (1, 2), (16, 2)];
        int rounds = 5;
        double roundMs = 400;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--peers": break;
                case "--onnx-dir": dir = Next(); break;
                case "--models": models = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "--configs":
                    configs = Next().Split(',').Select(c => c.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture))).ToArray();
                    break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--round-ms": roundMs = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--json": json = Next(); break;
                case "--markdown": md = Next(); break;
                default: throw new ArgumentException($"unknown option '{args[i]}' (see PeerBench's summary)");
            }
        }
        if (dir is null || models.Length == 0)
        {
            throw new ArgumentException("--onnx-dir DIR and --models A,B are required");
        }
        if (rounds is < 1 or > 100)
        {
            throw new ArgumentException($"--rounds {rounds}: expected 1..100");
        }
        return new Settings(dir, models, configs, rounds, roundMs, json, md);
    }
}
