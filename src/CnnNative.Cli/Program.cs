using System.CommandLine;
using System.CommandLine.Parsing;

namespace CnnNative.Cli;

/// <summary>
/// Entry point of the <c>cnn</c> tool. Commands: <c>info</c>, <c>infer</c>, <c>train</c>, <c>eval</c>, <c>demo</c>, <c>inspect</c>, <c>verify</c>, <c>bench</c>.
/// Exit codes: 0 success, 1 unexpected failure (a bug), 2 bad usage or missing/invalid input
/// (unknown option, bad option value, missing dataset, unreadable or unsupported weights/model/input files,
/// a model that cannot run on the given input, a tensor over --max-tensor-mib, a bad model card).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = BuildCommandLine();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (ParseError error in parsed.Errors)
            {
                Console.Error.WriteLine($"cnn: error: {error.Message}");
            }
            string commandName = parsed.CommandResult.Command is RootCommand ? "cnn" : $"cnn {parsed.CommandResult.Command.Name}";
            Console.Error.WriteLine($"Run '{commandName} --help' for usage.");
            return ExitCodes.Usage;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"cnn: error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"cnn: internal error ({ex.GetType().Name}): {ex.Message}");
            if (Environment.GetEnvironmentVariable("CNN_DEBUG") == "1")
            {
                Console.Error.WriteLine(ex);
            }
            else
            {
                Console.Error.WriteLine("Set CNN_DEBUG=1 for the stack trace.");
            }
            return ExitCodes.Failure;
        }
    }

    internal static RootCommand BuildCommandLine()
    {
        var root = new RootCommand("CnnNative: a CNN library with a C compute core (scalar reference + AVX2 kernels): inference and training.");

        var info = new Command("info", "Print the library version, supported instruction sets, the one in use and the hardware threads.");
        info.SetAction(_ => InfoCommand.Run(Console.Out));
        root.Add(info);

        var inferOptions = new InferOptionSet();
        var infer = new Command("infer", "Run a model over the Fashion-MNIST test set (10,000 images): throughput, sample predictions, accuracy.");
        inferOptions.AddTo(infer);
        infer.SetAction(parseResult => InferCommand.Run(inferOptions.Read(parseResult), Console.Out));
        root.Add(infer);

        var trainOptions = new TrainOptionSet();
        var train = new Command("train", "Train a model on the Fashion-MNIST training set (validation split, early stopping, CSV log, best weights as safetensors), then report its test accuracy.");
        trainOptions.AddTo(train);
        train.SetAction(parseResult => TrainCommand.Run(trainOptions.Read(parseResult), Console.Out));
        root.Add(train);

        var evalOptions = new EvalOptionSet();
        var eval = new Command("eval", "Evaluate trained weights on the 10,000 Fashion-MNIST test images: accuracy and confusion matrix.");
        evalOptions.AddTo(eval);
        eval.SetAction(parseResult => EvalCommand.Run(evalOptions.Read(parseResult), Console.Out));
        root.Add(eval);

        var demoOptions = new DemoOptionSet();
        var demo = new Command("demo", "Train LeNet-5 on Fashion-MNIST for 2 epochs (Adam), then evaluate it on the test set (what ./build.sh demo runs).");
        demoOptions.AddTo(demo);
        demo.SetAction(parseResult => DemoCommand.Run(demoOptions.Read(parseResult), Console.Out));
        root.Add(demo);

        root.Add(InspectCommand.Create());
        root.Add(VerifyCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(ReportCommand.Create());

        return root;
    }
}

internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}

/// <summary>An error meant for the user: printed as one line, no stack trace.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Usage) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The options of <c>cnn infer</c>.</summary>
internal sealed class InferOptionSet
{
    public const string DefaultDataDirectory = "/usr/share/datasets/fashion-mnist";

    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "Model to run.",
        DefaultValueFactory = _ => "lenet5",
    };

    private readonly Option<FileInfo?> _weights = new("--weights", "-w")
    {
        Description = "Trained weights (.safetensors, torch state_dict keys). Without it the weights are random (seeded).",
        HelpName = "FILE.safetensors",
    };

    private readonly Option<DirectoryInfo> _data = new("--data", "-d")
    {
        Description = "Directory holding t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo(
            Environment.GetEnvironmentVariable("CNN_FASHION_MNIST") is { Length: > 0 } dir ? dir : DefaultDataDirectory),
    };

    private readonly Option<int> _batch = new("--batch", "-b")
    {
        Description = "Images per forward pass (1 ... 65536).",
        HelpName = "N",
        DefaultValueFactory = _ => 256,
    };

    private readonly Option<int> _threads = new("--threads", "-t")
    {
        Description = "Threads per forward pass (1 ... 256; 0 = all hardware threads).",
        HelpName = "N",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<string> _isa = new("--isa")
    {
        Description = "Kernel family.",
        DefaultValueFactory = _ => "auto",
    };

    private readonly Option<int> _show = new("--show")
    {
        Description = "How many of the first images to print with their prediction (0 ... 10000).",
        HelpName = "N",
        DefaultValueFactory = _ => 5,
    };

    private readonly Option<int> _seed = new("--seed")
    {
        Description = "Seed of the random initial weights (used when --weights is not given).",
        DefaultValueFactory = _ => 0,
    };

    public InferOptionSet()
    {
        _model.AcceptOnlyFromAmong("lenet5");
        _isa.AcceptOnlyFromAmong("auto", "reference", "avx2", "avx512");
        CommonOptions.AddRange(_batch, 1, 65536);
        CommonOptions.AddRange(_threads, 0, 256);
        CommonOptions.AddRange(_show, 0, 10000);
    }

    public void AddTo(Command command)
    {
        command.Add(_model);
        command.Add(_weights);
        command.Add(_data);
        command.Add(_batch);
        command.Add(_threads);
        command.Add(_isa);
        command.Add(_show);
        command.Add(_seed);
    }

    public InferSettings Read(ParseResult result) => new(
        Model: result.GetValue(_model)!,
        Weights: result.GetValue(_weights)?.FullName,
        DataDirectory: result.GetValue(_data)!.FullName,
        BatchSize: result.GetValue(_batch),
        Threads: result.GetValue(_threads),
        Isa: result.GetValue(_isa)!,
        Show: result.GetValue(_show),
        Seed: result.GetValue(_seed));
}

internal sealed record InferSettings(
    string Model,
    string? Weights,
    string DataDirectory,
    int BatchSize,
    int Threads,
    string Isa,
    int Show,
    int Seed);
