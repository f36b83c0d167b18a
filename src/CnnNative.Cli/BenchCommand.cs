using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnNative.Interop;
using CnnNative.Models;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn bench</c>: model-level inference latency. Builds the model with random (seeded) weights,
/// switches it to eval mode, and under <see cref="Autograd.NoGrad"/> runs a fixed random input through
/// it: warm-up runs first (JIT, native scratch, thread pool), then N timed runs; prints the median
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
        CnnIsa isa = IsaNames.Parse(settings.Isa);
        if (isa != CnnIsa.Auto && !Cnn.IsSupported(isa))
        {
            string supported = string.Join(", ", IsaNames.Concrete.Where(Cnn.IsSupported).Select(IsaNames.ToName));
            throw new CliException($"this CPU does not support --isa {settings.Isa} (supported: {supported}).");
        }
        if (settings.Session)
        {
            throw new CliException("--session needs CnnNative.Inference.InferenceSession, which this build does not have yet; run without --session (Module.Forward).");
        }
        // Per calling thread: this thread runs every forward pass.
        Cnn.Isa = isa;
        Cnn.NumThreads = settings.Threads == 0 ? Cnn.HardwareThreads : settings.Threads;

        Cnn.ManualSeed(settings.Seed);
        using Module model = CreateModel(settings.Model, settings.BatchSize, out int[] shape);
        model.Eval();
        using var input = Tensor.Randn(settings.Seed + 1, shape);

        output.WriteLine($"Model:   {settings.Model} ({model.ParameterCount():N0} parameters), random weights (seed {settings.Seed}), eval, no grad, Module.Forward");
        output.WriteLine($"Input:   [{string.Join(", ", shape)}]; isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s); CnnNative {Cnn.Version}");

        // One forward pass; the InferenceSession path (--session) plugs in here once that API exists.
        Action forward = () => model.Forward(input).Dispose();
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
                Runner: "module",
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

    /// <summary>The model by name (an unknown name is a usage error) and its input shape at <paramref name="batch"/>.</summary>
    private static Module CreateModel(string name, int batch, out int[] inputShape)
    {
        try
        {
            inputShape = BenchModels.DefaultInputShape(name);
            inputShape[0] = batch;
            return BenchModels.Create(name);
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ex.Message);
        }
    }

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

/// <summary>
/// The models <c>cnn bench</c> builds by name (torchvision's names), with the same two calls as
/// <c>CnnNative.Models.ModelZoo</c> (helper branch h-models): when that lands, this class goes and
/// <c>BenchModels.</c> becomes <c>ModelZoo.</c> (vgg16, mobilenet_v2, alexnet, ... then work too).
/// </summary>
internal static class BenchModels
{
    private static readonly (string Name, Func<int, Module> Create)[] Entries =
    [
        ("resnet18", n => ResNet.ResNet18(n)),
        ("resnet34", n => ResNet.ResNet34(n)),
        ("resnet50", n => ResNet.ResNet50(n)),
    ];

    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    public static Module Create(string name, int numClasses = 1000) => Find(name).Create(numClasses);

    /// <summary>[1, 3, 224, 224]: every model here is an ImageNet model.</summary>
    public static int[] DefaultInputShape(string name)
    {
        Find(name); // an unknown name throws
        return [1, 3, 224, 224];
    }

    private static (string Name, Func<int, Module> Create) Find(string name)
        => Entries.FirstOrDefault(e => e.Name == name) is { Create: not null } entry
            ? entry
            : throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", Names)}).");
}

/// <summary>The options of <c>cnn bench</c>.</summary>
internal sealed class BenchOptionSet
{
    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "Model to time (torchvision's names: " + string.Join(", ", BenchModels.Names) + ").",
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

    private readonly Option<bool> _session = new("--session")
    {
        Description = "Run through CnnNative.Inference.InferenceSession (compiled plan) instead of Module.Forward.",
    };

    public BenchOptionSet()
    {
        CommonOptions.AddRange(_iterations, 1, 100000);
        CommonOptions.AddRange(_warmup, 0, 1000);
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
        command.Add(_session);
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
        Session: result.GetValue(_session));
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
    bool Session);
