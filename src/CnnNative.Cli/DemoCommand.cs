using System.CommandLine;
using System.Globalization;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn demo</c> (what <c>./build.sh demo</c> runs): trains LeNet-5 on Fashion-MNIST for 2 epochs with Adam,
/// then evaluates the best weights on the 10,000 test images (accuracy, confusion matrix, images/s).
/// </summary>
internal static class DemoCommand
{
    public static int Run(DemoSettings settings, TextWriter output)
    {
        string outDirectory = settings.OutDirectory ?? Path.Combine(Path.GetTempPath(), "cnn-demo");
        var train = new TrainSettings(
            Model: ModelZoo.LeNet5Name, Epochs: settings.Epochs, BatchSize: 64, LearningRate: 1e-3f, Optimizer: "adam",
            Momentum: null, WeightDecay: null, Schedule: "none", StepSize: null, Gamma: 0.1f, Augment: false,
            ValidationSplit: 0.1, Patience: 5, LabelSmoothing: 0, ClipNorm: 0, Threads: settings.Threads, Isa: settings.Isa,
            Seed: settings.Seed, OutDirectory: outDirectory, DataDirectory: settings.DataDirectory);
        string trainCommand = train.ToCommandLine() + $" --out {outDirectory}";
        string evalCommand = $"cnn eval --model lenet5 --weights {Path.Combine(outDirectory, TrainCommand.WeightsFile)}";

        output.WriteLine($"cnn demo: train LeNet-5 on Fashion-MNIST (60,000 real 28x28 images) for {settings.Epochs} epoch(s) with Adam,");
        output.WriteLine("then evaluate the best weights on the 10,000 test images. The same as:");
        output.WriteLine($"  {trainCommand}");
        output.WriteLine($"  {evalCommand}");
        output.WriteLine();

        TrainOutcome outcome = TrainCommand.Train(train, output, trainCommand);

        output.WriteLine();
        output.WriteLine($"==> {evalCommand}");
        EvalResult evaluation = EvalCommand.Evaluate(new EvalSettings(ModelZoo.LeNet5Name, outcome.WeightsPath, settings.DataDirectory, 256, settings.Threads, settings.Isa, Raw: false), output);

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Demo summary: test accuracy {100 * evaluation.Accuracy:F2}% after {outcome.EpochsRun} epoch(s) of training at {outcome.TrainImagesPerSecond:N0} images/s; " +
            $"inference {evaluation.ImagesPerSecond:N0} images/s ({Cnn.NumThreads} thread(s), {IsaNames.ToName(Cnn.Isa)})."));
        return ExitCodes.Success;
    }
}

internal sealed record DemoSettings(int Epochs, int Threads, string Isa, int Seed, string? OutDirectory, string DataDirectory);

/// <summary>The options of <c>cnn demo</c>.</summary>
internal sealed class DemoOptionSet
{
    private readonly Option<int> _epochs = new("--epochs", "-e")
    {
        Description = "Epochs of training (1 ... 100).",
        HelpName = "N",
        DefaultValueFactory = _ => 2,
    };

    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<string> _isa = CommonOptions.Isa();

    private readonly Option<int> _seed = new("--seed", "-s")
    {
        Description = "Seed of the initial weights, the validation split and the shuffling.",
        DefaultValueFactory = _ => 0,
    };

    private readonly Option<DirectoryInfo?> _out = new("--out")
    {
        Description = "Output directory (default: cnn-demo in the temporary directory).",
        HelpName = "DIR",
    };

    private readonly Option<DirectoryInfo> _data = CommonOptions.Data();

    public DemoOptionSet()
    {
        CommonOptions.AddRange(_epochs, 1, 100);
        _epochs.Numeric();
        _seed.Numeric();
    }

    public void AddTo(Command command)
    {
        command.Add(_epochs);
        command.Add(_threads);
        command.Add(_isa);
        command.Add(_seed);
        command.Add(_out);
        command.Add(_data);
    }

    public DemoSettings Read(ParseResult result) => new(
        Epochs: result.GetValue(_epochs),
        Threads: result.GetValue(_threads),
        Isa: result.GetValue(_isa)!,
        Seed: result.GetValue(_seed),
        OutDirectory: result.GetValue(_out)?.FullName,
        DataDirectory: result.GetValue(_data)!.FullName);
}
