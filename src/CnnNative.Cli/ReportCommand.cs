using System.CommandLine;
using System.Globalization;
using CnnNative.Report;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn report RUN_DIR [--input IMAGE] [--out FILE]</c>: one self-contained HTML page (PNGs inline as data URIs)
/// with the run's loss and accuracy curves, validation confusion matrix, first-layer filters, activation maps of the
/// first, middle and last convolution, and a saliency map for one input. Reads the run directory that
/// <c>cnn train</c> writes for an image folder (docs/fine-tuning.md, "Run directory format").
/// </summary>
internal static class ReportCommand
{
    public const string DefaultFileName = "report.html";

    public static Command Create()
    {
        var runDir = new Argument<string>("run-dir") { Description = "The run directory (metrics.csv, confusion.json, run.json, last.safetensors)." };
        var input = new Option<string?>("--input") { Description = "Image for the activation and saliency maps (default: the first image of the run's data folder).", HelpName = "IMAGE" };
        var output = new Option<string?>("--out", "-o") { Description = $"Where to write the page (default: RUN_DIR/{DefaultFileName}).", HelpName = "FILE" };
        var command = new Command("report", "Write an HTML page of a training run: curves, confusion matrix, filters, activations, saliency.") { runDir, input, output };
        command.SetAction(r => Run(r.GetValue(runDir)!, r.GetValue(input), r.GetValue(output), Console.Out));
        return command;
    }

    public static int Run(string runDirectory, string? inputImage, string? outPath, TextWriter log)
    {
        string path = Write(runDirectory, inputImage, outPath);
        log.WriteLine($"Report: {path}");
        return ExitCodes.Success;
    }

    /// <summary>Builds the page and writes it; returns its path. Bad input throws <see cref="CliException"/> naming the file.</summary>
    public static string Write(string runDirectory, string? inputImage, string? outPath)
    {
        if (!Directory.Exists(runDirectory))
            throw new CliException($"{runDirectory}: no such run directory.");
        if (inputImage is not null && !File.Exists(inputImage))
            throw new CliException($"--input {inputImage}: no such file.");
        try
        {
            IReadOnlyList<Figure> figures = Figures(runDirectory, inputImage, out string summary);
            string target = outPath ?? Path.Combine(runDirectory, DefaultFileName);
            File.WriteAllText(target, HtmlReport.Build($"Training run {Path.GetFileName(Path.GetFullPath(runDirectory).TrimEnd('/'))}", summary, figures));
            return target;
        }
        catch (ReportInputException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>The report's pictures in page order.</summary>
    internal static IReadOnlyList<Figure> Figures(string runDirectory, string? inputImage, out string summary)
    {
        string File(string name) => Path.Combine(runDirectory, name);
        RequireFile(File(RunData.MetricsFile));
        RequireFile(File(RunData.ConfusionFile));
        RequireFile(File(RunData.RunFile));
        IReadOnlyList<EpochMetrics> metrics = RunData.ReadMetrics(File(RunData.MetricsFile));
        ConfusionData confusion = RunData.ReadConfusion(File(RunData.ConfusionFile));
        RunInfo run = RunData.ReadRun(File(RunData.RunFile));
        ProbeResult probe = ReportProbe.Run(runDirectory, run, inputImage);

        EpochMetrics last = metrics[^1];
        summary = string.Create(CultureInfo.InvariantCulture,
            $"{run.Model}, {run.Classes.Count} classes, input {string.Join("x", run.Input)}, {metrics.Count} epoch(s); last epoch: " +
            $"train loss {last.TrainLoss:F4}, accuracy {100 * last.TrainAccuracy:F1}%; validation loss {last.ValLoss:F4}, accuracy {100 * last.ValAccuracy:F1}%.");

        int[] w = probe.FirstConvShape;
        string inputName = string.Join('/', probe.InputPath.Split(Path.DirectorySeparatorChar).TakeLast(3));
        var figures = new List<Figure>
        {
            new("Loss", "Cross-entropy per epoch; shaded epochs trained with the backbone frozen, dashed lines mark stage changes.",
                Charts.EpochCurves(metrics, "Loss", "cross-entropy", r => r.TrainLoss, r => r.ValLoss)),
            new("Accuracy", "Top-1 accuracy per epoch (train: during the epoch, with augmentation if any; validation: after it).",
                Charts.EpochCurves(metrics, "Accuracy", "accuracy", r => r.TrainAccuracy, r => r.ValAccuracy, (-0.02, 1.02))),
            new("Confusion matrix", "Validation counts after the last epoch: rows are true classes, columns predictions.",
                Charts.ConfusionHeatmap(confusion)),
            new("First-layer filters", $"{probe.FirstConvName}: {w[0]} filters of {w[1]}x{w[2]}x{w[3]}, each scaled to its own [min, max] " +
                (w[1] == 3 ? "(RGB)." : "(mean over input channels, black = min, white = max)."),
                ModelPictures.FilterGrid(probe.FirstConvWeight, w)),
        };
        foreach (FeatureMap map in probe.Activations)
        {
            figures.Add(new($"Activations: convolution {map.ConvIndex} of {map.ConvCount}",
                $"{inputName}: output of convolution {map.ConvIndex} (after its fused activation), " +
                $"{Math.Min(map.Channels, ModelPictures.MaxActivationChannels)} of {map.Channels} channels at {map.Height}x{map.Width}, each scaled to its own range (viridis).",
                ModelPictures.ActivationGrid(map.Values, map.Channels, map.Height, map.Width)));
        }

        figures.Add(new("Saliency", string.Create(CultureInfo.InvariantCulture,
            $"{inputName} (left) and |d score / d input| max over channels (right, inferno) for the top class " +
            $"'{run.Classes[probe.TopClass]}' (p = {probe.TopProbability:F3})."),
            ModelPictures.SaliencyPair(probe.DisplayInput, probe.InputGradient, probe.Channels, probe.Height, probe.Width)));
        return figures;
    }

    private static void RequireFile(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new CliException($"{path}: missing (see docs/fine-tuning.md, \"Run directory format\").");
    }
}
