using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn bench</c>: model-level inference latency. Builds a model-zoo model with random (seeded)
/// weights in eval mode and, under <see cref="Autograd.NoGrad"/>, runs a fixed random input through it,
/// by default with a compiled <see cref="InferenceSession"/> (<c>--runner module</c>: Module.Forward):
/// warm-up runs first (JIT, native scratch, thread pool), then N timed runs; prints the median
/// (and min/max) time per forward pass and images per second (batch / median). benchmarks/run.sh
/// runs it next to benchmarks/torch_models.py (same model, batch and threads) for docs/benchmarks.md.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var options = new BenchOptionSet();
        var command = new Command("bench", "Time inference of a model (random weights, eval, no grad): median ms per batch and images/s.");
        options.AddTo(command);
        command.SetAction(parseResult => Run(options.Read(parseResult), Console.Out));
        return command;
    }

    public static int Run(BenchSettings settings, TextWriter output)
    {
        // Per calling thread: this thread runs every forward pass.
        Execution.Configure(settings.Isa, settings.Threads);

        Cnn.ManualSeed(settings.Seed);
        // A model-zoo name (unknown: usage error), in eval mode, at its default input shape with our batch.
        if (!ModelSource.Names.Contains(settings.Model))
        {
            throw new CliException($"unknown model '{settings.Model}' (model-zoo names: {string.Join(", ", ModelSource.Names)}).");
        }
        (Module zooModel, int[] shape) = ModelSource.CreateZoo(settings.Model, classes: 1000);
        using Module model = zooModel;
        shape[0] = settings.BatchSize;
        using var input = Tensor.Randn(settings.Seed + 1, shape);

        // One forward pass: a compiled InferenceSession (batch norm folded, activations fused, one arena;
        // compiled here, not timed) or the module's own Forward.
        long liveBefore = Cnn.MemoryStats().LiveBytes;
        using InferenceSession? session = settings.Runner == SessionRunner
            ? InferenceSession.Create(model, shape, new InferenceSessionOptions { Isa = Cnn.Isa, NumThreads = Cnn.NumThreads })
            : null;
        long sessionLiveBytes = Cnn.MemoryStats().LiveBytes - liveBefore; // the session's constants, plans, one context
        using Tensor? sessionOutput = session is null ? null : Tensor.Zeros(session.OutputShape);
        Action forward = session is null
            ? () => model.Forward(input).Dispose()
            : () => session.Run(input, sessionOutput!);

        string runner = session is null ? "Module.Forward" : "InferenceSession.Run";
        output.WriteLine($"Model:   {settings.Model} ({model.ParameterCount():N0} parameters), random weights (seed {settings.Seed}), eval, no grad, {runner}");
        output.WriteLine($"Input:   [{string.Join(", ", shape)}]; isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s); CnnNative {Cnn.Version}");
        if (session is not null)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Memory:  session holds {sessionLiveBytes / 1e6:F1} MB native after Create (constants {session.ConstantBytes / 1e6:F1} MB, conv plans {session.ConvPlanBytes / 1e6:F1} MB, arena {session.ArenaBytes / 1e6:F1} MB, the rest its native context); the model's own weights not counted"));
        }
        var times = new double[settings.Iterations];
        using (Autograd.NoGrad())
        {
            for (int i = 0; i < settings.Warmup; i++)
            {
                forward();
            }
            for (int i = 0; i < times.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                forward();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        double median = Median(times);
        double imagesPerSecond = settings.BatchSize / (median / 1000.0);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Timed:   {times.Length} run(s) after {settings.Warmup} warm-up: median {median:F2} ms (min {times.Min():F2}, max {times.Max():F2}) -> {imagesPerSecond:F1} images/s"));

        if (settings.JsonPath is not null)
        {
            var result = new BenchResult(
                Framework: "cnnnative",
                Model: settings.Model,
                Batch: settings.BatchSize,
                Threads: Cnn.NumThreads,
                Isa: IsaNames.ToName(Cnn.Isa),
                Runner: settings.Runner,
                Version: Cnn.Version,
                Warmup: settings.Warmup,
                TimesMs: times,
                MedianMs: median,
                ImagesPerSecond: imagesPerSecond);
            File.WriteAllText(settings.JsonPath, JsonSerializer.Serialize(result, JsonOptions) + Environment.NewLine);
            output.WriteLine($"JSON:    {settings.JsonPath}");
        }
        return ExitCodes.Success;
    }

    public const string SessionRunner = "session";
    public const string ModuleRunner = "module";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>One <c>cnn bench</c> measurement (the same fields benchmarks/torch_models.py writes).</summary>
internal sealed record BenchResult(
    string Framework,
    string Model,
    int Batch,
    int Threads,
    string Isa,
    string Runner,
    string Version,
    int Warmup,
    double[] TimesMs,
    double MedianMs,
    double ImagesPerSecond);

/// <summary>The options of <c>cnn bench</c>.</summary>
internal sealed class BenchOptionSet
{
    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "Model-zoo name to time: " + string.Join(", ", ModelSource.Names) + ".",
        DefaultValueFactory = _ => "resnet18",
    };

    private readonly Option<int> _batch = CommonOptions.Batch(1);
    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<string> _isa = CommonOptions.Isa();

    private readonly Option<int> _iterations = new Option<int>("--iterations", "-n")
    {
        Description = "Timed forward passes (1 ... 100000); the median is reported.",
        HelpName = "N",
        DefaultValueFactory = _ => 10,
    }.Numeric();

    private readonly Option<int> _warmup = new Option<int>("--warmup")
    {
        Description = "Untimed forward passes first (0 ... 1000).",
        HelpName = "N",
        DefaultValueFactory = _ => 2,
    }.Numeric();

    private readonly Option<int> _seed = new Option<int>("--seed")
    {
        Description = "Seed of the random weights and input.",
        DefaultValueFactory = _ => 0,
    }.Numeric();

    private readonly Option<FileInfo?> _json = new("--json")
    {
        Description = "Also write the result (every time, median, images/s) as JSON to FILE.",
        HelpName = "FILE",
    };

    private readonly Option<string> _runner = new("--runner")
    {
        Description = "How to run the model: session = CnnNative.Inference.InferenceSession (compiled plan: batch norm folded, activations fused, one arena), module = Module.Forward.",
        DefaultValueFactory = _ => BenchCommand.SessionRunner,
    };

    public BenchOptionSet()
    {
        CommonOptions.AddRange(_iterations, 1, 100000);
        CommonOptions.AddRange(_warmup, 0, 1000);
        _runner.AcceptOnlyFromAmong(BenchCommand.SessionRunner, BenchCommand.ModuleRunner);
    }

    public void AddTo(Command command)
    {
        command.Add(_model);
        command.Add(_batch);
        command.Add(_threads);
        command.Add(_isa);
        command.Add(_iterations);
        command.Add(_warmup);
        command.Add(_seed);
        command.Add(_json);
        command.Add(_runner);
    }

    public BenchSettings Read(ParseResult result) => new(
        Model: result.GetValue(_model)!,
        BatchSize: result.GetValue(_batch),
        Threads: result.GetValue(_threads),
        Isa: result.GetValue(_isa)!,
        Iterations: result.GetValue(_iterations),
        Warmup: result.GetValue(_warmup),
        Seed: result.GetValue(_seed),
        JsonPath: result.GetValue(_json)?.FullName,
        Runner: result.GetValue(_runner)!);
}

internal sealed record BenchSettings(
    string Model,
    int BatchSize,
    int Threads,
    string Isa,
    int Iterations,
    int Warmup,
    int Seed,
    string? JsonPath,
    string Runner);
