using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CnnNative.Data;
using CnnNative.Nn;
using CnnNative.Optim;
using CnnNative.Vision;
using Zoo = CnnNative.Models.ModelZoo;

namespace CnnNative.Cli;

/// <summary>The options of <c>cnn train</c> that only apply to an image folder.</summary>
internal sealed record ImageTrainOptions(
    string? Weights,
    bool FreezeBackbone,
    int? UnfreezeAfter,
    float UnfreezeLrFactor,
    int? ImageSize,
    float[]? Mean,
    float[]? Std,
    int Workers);

/// <summary>
/// <c>cnn train --data DIR</c> where DIR is an image folder: any zoo model, optional starting weights
/// (its head replaced to the folder's class count), frozen backbone, unfreezing after K epochs with a lower
/// learning rate. DIR holds <c>train/</c> and <c>val/</c> (or <c>test/</c>) class folders, or class folders
/// directly (then <c>--val-split</c> holds out a seeded part). Writes the run directory described in
/// docs/fine-tuning.md: <c>metrics.csv</c>, <c>confusion.json</c>, <c>run.json</c>, <c>last.safetensors</c>.
/// </summary>
internal static class ImageFolderTraining
{
    public const string MetricsFile = "metrics.csv";
    public const string ConfusionFile = "confusion.json";
    public const string RunFile = "run.json";
    public const string WeightsFile = "last.safetensors";

    /// <summary>Whether <paramref name="directory"/> is an image folder (not the Fashion-MNIST IDX directory).</summary>
    public static bool IsImageFolder(string directory) =>
        Directory.Exists(directory) && !File.Exists(Path.Combine(directory, "train-images-idx3-ubyte.gz")) && Directory.GetDirectories(directory).Length > 0;

    public static double Run(TrainSettings settings, ImageTrainOptions image, TextWriter output)
    {
        var wall = Stopwatch.StartNew();
        Execution.Configure(settings.Isa, settings.Threads);
        if (!Zoo.Names.Contains(settings.Model))
        {
            throw new CliException($"unknown model '{settings.Model}' (expected one of {string.Join(", ", Zoo.Names)}).");
        }

        int[] defaultShape = Zoo.DefaultInputShape(settings.Model);
        int size = image.ImageSize ?? defaultShape[2];
        ColorMode color = defaultShape[1] == 1 ? ColorMode.Grayscale : ColorMode.Rgb;
        (IImageDataset train, IImageDataset validation, string splitText) = OpenData(settings.DataDirectory, color, settings.ValidationSplit, settings.Seed);
        IReadOnlyList<string> classes = ClassNames(train);
        if (image.UnfreezeAfter is int k && (!image.FreezeBackbone || k >= settings.Epochs))
        {
            throw new CliException($"--unfreeze-after {k} needs --freeze-backbone and fewer than --epochs ({settings.Epochs}) epochs.");
        }

        float[] mean = image.Mean ?? (color == ColorMode.Rgb ? [0.485f, 0.456f, 0.406f] : [0.5f]);
        float[] std = image.Std ?? (color == ColorMode.Rgb ? [0.229f, 0.224f, 0.225f] : [0.5f]);
        Normalize normalize;
        try
        {
            normalize = new Normalize(mean, std);
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--mean/--std: {ex.Message}");
        }

        // Training: RandomResizedCrop + flip with --augment, else the evaluation pipeline (Resize + CenterCrop).
        IImageTransform evalTransform = new Compose(new Resize(size), new CenterCrop(size), normalize);
        IImageTransform trainTransform = settings.Augment
            ? new Compose(new RandomResizedCrop(size), new RandomHorizontalFlip(), normalize)
            : evalTransform;

        string outDirectory = Path.GetFullPath(settings.OutDirectory ?? Path.Combine("runs", settings.Model));
        Directory.CreateDirectory(outDirectory);

        Cnn.ManualSeed(settings.Seed);
        using Module model = Zoo.Create(settings.Model, classes.Count);
        string weightsText = "random initialisation";
        if (image.Weights is string weights)
        {
            try
            {
                FineTuning.LoadBackbone(model, weights);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException)
            {
                throw new CliException($"cannot load --weights {weights}: {ex.Message}");
            }

            // A new head for this folder's classes, initialised from its own seed stream.
            Cnn.ManualSeed(settings.Seed + 1000);
            FineTuning.ReplaceHead(model, classes.Count);
            weightsText = $"backbone from {weights}, new head ({FineTuning.FindHead(model).Name}) for {classes.Count} classes";
        }

        if (image.FreezeBackbone)
        {
            FineTuning.SetBackboneFrozen(model, frozen: true);
        }

        OptimizerChoice choice = OptimizerChoice.From(settings);
        Optimizer optimizer = choice.Create(FineTuning.TrainableParameters(model));
        try
        {
            using var trainBatches = new ImageDataLoader(train, trainTransform, settings.BatchSize, shuffle: true, seed: settings.Seed, workers: image.Workers);
            using var valBatches = new ImageDataLoader(validation, evalTransform, Math.Max(settings.BatchSize, 128), workers: image.Workers);
            output.WriteLine($"cnn train: {settings.Model} on the image folder {settings.DataDirectory}");
            output.WriteLine($"Model:     {settings.Model}, {model.ParameterCount():N0} parameters ({FineTuning.TrainableParameters(model).Sum(p => p.Length):N0} trainable); {weightsText}");
            output.WriteLine($"Data:      {train.Count:N0} training / {validation.Count:N0} validation images ({splitText}), {classes.Count} classes [{string.Join(", ", classes)}]; " +
                $"{trainBatches.SampleShape.Channels}x{size}x{size}, {image.Workers} loader worker(s)");
            output.WriteLine($"Transform: train {trainTransform}; eval {evalTransform}");
            output.WriteLine($"Optimizer: {choice.Describe()}; batch {settings.BatchSize}; " +
                (image.FreezeBackbone ? $"backbone frozen{(image.UnfreezeAfter is int u ? string.Create(CultureInfo.InvariantCulture, $" for {u} epoch(s), then all layers at lr x {image.UnfreezeLrFactor}") : "")}" : "all layers trained"));
            output.WriteLine($"Run:       isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s); output {outDirectory}{Path.DirectorySeparatorChar}");
            output.WriteLine();

            using var metrics = new StreamWriter(Path.Combine(outDirectory, MetricsFile), append: false, new UTF8Encoding(false));
            metrics.WriteLine("epoch,stage,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_s");
            EvalResult? val = null;
            string stage = image.FreezeBackbone ? "frozen" : "full";
            for (int epoch = 1; epoch <= settings.Epochs; epoch++)
            {
                if (image.UnfreezeAfter is int after && epoch == after + 1)
                {
                    FineTuning.SetBackboneFrozen(model, frozen: false);
                    optimizer.Dispose();
                    choice = choice with { LearningRate = choice.LearningRate * image.UnfreezeLrFactor };
                    optimizer = choice.Create(FineTuning.TrainableParameters(model));
                    stage = "unfrozen";
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Unfrozen after epoch {after}: all {model.ParameterCount():N0} parameters, {choice.Describe()}"));
                }

                var clock = Stopwatch.StartNew();
                (double loss, double accuracy, int seen) = TrainEpoch(model, optimizer, trainBatches, settings.LabelSmoothing, epoch);
                double trainSeconds = clock.Elapsed.TotalSeconds;
                val = Evaluator.Evaluate(model, valBatches, classes.Count);
                clock.Stop();
                metrics.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{epoch},{stage},{loss:F6},{accuracy:F6},{val.Loss:F6},{val.Accuracy:F6},{choice.LearningRate:G6},{clock.Elapsed.TotalSeconds:F3},{seen / Math.Max(trainSeconds, 1e-9):F1}"));
                metrics.Flush();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch}/{settings.Epochs} [{stage}]  train loss {loss:F4} acc {100 * accuracy:F2}%  val loss {val.Loss:F4} acc {100 * val.Accuracy:F2}%  {clock.Elapsed.TotalSeconds:F1} s  {seen / Math.Max(trainSeconds, 1e-9):N0} img/s"));
                output.Flush();
            }

            model.SaveSafetensors(Path.Combine(outDirectory, WeightsFile));
            WriteJson(Path.Combine(outDirectory, ConfusionFile), new
            {
                split = "validation",
                epoch = settings.Epochs,
                classes,
                matrix = Rows(val!.Confusion),
            });
            WriteJson(Path.Combine(outDirectory, RunFile), new
            {
                model = settings.Model,
                data = settings.DataDirectory,
                classes,
                input = new[] { trainBatches.SampleShape.Channels, size, size },
                mean,
                std,
                weights = image.Weights,
                freeze_backbone = image.FreezeBackbone,
                unfreeze_after = image.UnfreezeAfter,
                seed = settings.Seed,
                epochs = settings.Epochs,
                final_val_accuracy = val.Accuracy,
                wall_seconds = wall.Elapsed.TotalSeconds,
            });
            output.WriteLine();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Validation accuracy: {100 * val.Accuracy:F2}% ({val.Correct}/{val.Count}); weights {Path.Combine(outDirectory, WeightsFile)}; wall time {ProgressLine.FormatDuration(wall.Elapsed.TotalSeconds)}"));
            // The pictures of the run (curves, confusion, filters, activations, saliency): `cnn report` on the same folder.
            output.WriteLine($"Report:    {ReportCommand.Write(outDirectory, null, null)}");
            return val.Accuracy;
        }
        finally
        {
            optimizer.Dispose();
        }
    }

    private static (double Loss, double Accuracy, int Seen) TrainEpoch(Module model, Optimizer optimizer, ImageDataLoader batches, float labelSmoothing, int epoch)
    {
        model.Train();
        double lossSum = 0;
        int correct = 0, seen = 0;
        foreach (Batch batch in batches)
        {
            optimizer.ZeroGrad();
            using Tensor logits = model.Forward(batch.Input);
            using Tensor loss = Functional.CrossEntropy(logits, batch.Labels.Span, labelSmoothing);
            loss.Backward();
            optimizer.Step();
            float value = loss.Item();
            if (!float.IsFinite(value))
            {
                throw new CliException($"the training loss became {value} in epoch {epoch}: the learning rate is probably too high.", ExitCodes.Failure);
            }

            lossSum += (double)value * batch.Count;
            correct += Evaluator.Tally(logits.AsSpan(), batch.Labels.Span);
            seen += batch.Count;
        }

        return (lossSum / seen, (double)correct / seen, seen);
    }

    private static (IImageDataset Train, IImageDataset Validation, string Text) OpenData(string directory, ColorMode color, double validationFraction, int seed)
    {
        try
        {
            string trainDir = Path.Combine(directory, "train");
            string? valDir = new[] { "val", "test" }.Select(d => Path.Combine(directory, d)).FirstOrDefault(Directory.Exists);
            if (Directory.Exists(trainDir) && valDir is not null)
            {
                var train = new ImageFolder(trainDir, color);
                var val = new ImageFolder(valDir, color);
                if (!train.Classes.SequenceEqual(val.Classes))
                {
                    throw new CliException($"{trainDir} and {valDir} have different class folders: [{string.Join(", ", train.Classes)}] vs [{string.Join(", ", val.Classes)}].");
                }

                return (train, val, $"{Path.GetFileName(trainDir)}/ and {Path.GetFileName(valDir)}/");
            }

            var all = new ImageFolder(directory, color);
            if (validationFraction <= 0)
            {
                throw new CliException($"{directory} has no train/ + val/ (or test/) folders: give --val-split F > 0 to hold out a validation part.");
            }

            (DatasetSubset t, DatasetSubset v) = DatasetSubset.Split(all, validationFraction, seed);
            return (t, v, string.Create(CultureInfo.InvariantCulture, $"seeded {validationFraction} hold-out, seed {seed}"));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CliException($"cannot read the image folder {directory}: {ex.Message}");
        }
    }

    private static IReadOnlyList<string> ClassNames(IImageDataset data) => data switch
    {
        ImageFolder f => f.Classes,
        DatasetSubset { Source: ImageFolder f } => f.Classes,
        _ => Enumerable.Range(0, data.ClassCount).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray(),
    };

    private static int[][] Rows(int[,] m) =>
        Enumerable.Range(0, m.GetLength(0)).Select(r => Enumerable.Range(0, m.GetLength(1)).Select(c => m[r, c]).ToArray()).ToArray();

    private static void WriteJson(string path, object value) =>
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }) + "\n");
}
