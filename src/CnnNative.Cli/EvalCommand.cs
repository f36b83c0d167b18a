using System.CommandLine;
using System.Globalization;
using CnnNative.Data;
using CnnNative.Interop;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary><c>cnn eval</c>: test accuracy and confusion matrix of trained weights on the 10,000 Fashion-MNIST test images.</summary>
internal static class EvalCommand
{
    public static int Run(EvalSettings settings, TextWriter output)
    {
        Evaluate(settings, output);
        return ExitCodes.Success;
    }

    /// <summary>Loads the weights, evaluates them on the test set and prints the report; returns the result.</summary>
    public static EvalResult Evaluate(EvalSettings settings, TextWriter output)
    {
        Execution.Configure(settings.Isa, settings.Threads);
        if (!File.Exists(settings.Weights))
        {
            throw new CliException($"weights file not found: {settings.Weights}");
        }

        ModelCard? card = ModelCard.TryLoad(settings.Weights);
        if (card is not null && card.Model != settings.Model)
        {
            throw new CliException(
                $"{ModelCard.PathFor(settings.Weights)} says these weights are a '{card.Model}' model, not '{settings.Model}' (pass --model {card.Model}).");
        }

        ImageSet test = FashionData.Load(settings.DataDirectory, train: false);
        Normalization normalization;
        string normalizationSource;
        if (settings.Raw)
        {
            normalization = new Normalization([0f], [1f]);
            normalizationSource = "none (--raw: pixels in [0, 1])";
        }
        else if (card is not null)
        {
            normalization = new Normalization([card.NormalizationMean], [card.NormalizationStd]);
            normalizationSource = $"from {ModelCard.PathFor(settings.Weights)}";
        }
        else
        {
            normalization = Normalization.Fit(FashionData.Load(settings.DataDirectory, train: true).Images, ImageSet.Shape);
            normalizationSource = "training-set statistics (no .json card beside the weights)";
        }

        using Module model = ModelZoo.Create(settings.Model);
        Weights.Load(model, settings.Model, settings.Weights);

        output.WriteLine($"Model:   {ModelZoo.Describe(settings.Model)}, {model.ParameterCount():N0} parameters");
        output.WriteLine($"Weights: {settings.Weights}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Inputs:  (pixel - {normalization.Mean[0]:F4}) / {normalization.Std[0]:F4}, {normalizationSource}"));
        output.WriteLine($"Run:     isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s), batch {settings.BatchSize}");
        output.WriteLine();

        using DataLoader batches = test.Loader(settings.BatchSize, normalization);
        EvalResult result = Evaluator.Evaluate(model, batches);
        Evaluator.PrintConfusion(output, result.Confusion);
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Test loss:     {result.Loss:F4}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Test accuracy: {100 * result.Accuracy:F2}% ({result.Correct:N0}/{result.Count:N0}), {result.ImagesPerSecond:N0} images/s"));
        return result;
    }
}

/// <summary>Per-thread execution settings shared by the commands.</summary>
internal static class Execution
{
    public static void Configure(string isaName, int threads)
    {
        CnnIsa isa = IsaNames.Parse(isaName);
        if (isa != CnnIsa.Auto && !Cnn.IsSupported(isa))
        {
            string supported = string.Join(", ", IsaNames.Concrete.Where(Cnn.IsSupported).Select(IsaNames.ToName));
            throw new CliException($"this CPU does not support --isa {isaName} (supported: {supported}).");
        }
        Cnn.Isa = isa;
        Cnn.NumThreads = threads == 0 ? Cnn.HardwareThreads : threads;
    }
}

internal static class Weights
{
    public static void Load(Module model, string modelName, string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"weights file not found: {path}");
        }
        try
        {
            model.LoadSafetensors(path);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or NotSupportedException or FormatException or KeyNotFoundException)
        {
            // The library's message names the file ("Safetensors file 'PATH': ..."); not repeated here.
            throw new CliException($"cannot load {modelName} weights: {ex.Message}");
        }
    }
}

internal sealed record EvalSettings(string Model, string Weights, string DataDirectory, int BatchSize, int Threads, string Isa, bool Raw);

/// <summary>The options of <c>cnn eval</c>.</summary>
internal sealed class EvalOptionSet
{
    private readonly Option<string> _model = new("--model", "-m")
    {
        Description = "Model architecture of the weights.",
        Required = true,
    };

    private readonly Option<FileInfo> _weights = new("--weights", "-w")
    {
        Description = "Trained weights (.safetensors, torch state_dict keys), e.g. written by 'cnn train'.",
        HelpName = "FILE.safetensors",
        Required = true,
    };

    private readonly Option<DirectoryInfo> _data = CommonOptions.Data();
    private readonly Option<int> _batch = CommonOptions.Batch(256);
    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<string> _isa = CommonOptions.Isa();

    private readonly Option<bool> _raw = new("--raw")
    {
        Description = "Feed pixels in [0, 1] as they are (weights trained without normalisation). By default the normalisation in the .json card beside the weights is used, or the training-set mean/std.",
    };

    public EvalOptionSet()
    {
        _model.AcceptOnlyFromAmong(ModelZoo.Names);
    }

    public void AddTo(Command command)
    {
        command.Add(_model);
        command.Add(_weights);
        command.Add(_data);
        command.Add(_batch);
        command.Add(_threads);
        command.Add(_isa);
        command.Add(_raw);
    }

    public EvalSettings Read(ParseResult result) => new(
        Model: result.GetValue(_model)!,
        Weights: result.GetValue(_weights)!.FullName,
        DataDirectory: result.GetValue(_data)!.FullName,
        BatchSize: result.GetValue(_batch),
        Threads: result.GetValue(_threads),
        Isa: result.GetValue(_isa)!,
        Raw: result.GetValue(_raw));
}
