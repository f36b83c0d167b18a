using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnNative.Data;
using CnnNative.IO;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>Loss, accuracy and confusion matrix of a model over a data set.</summary>
internal sealed class EvalResult(double loss, int correct, int count, int[,] confusion, double seconds)
{
    public double Loss { get; } = loss;
    public int Correct { get; } = correct;
    public int Count { get; } = count;
    /// <summary>[true class, predicted class] counts.</summary>
    public int[,] Confusion { get; } = confusion;
    public double Seconds { get; } = seconds;
    public double Accuracy => (double)Correct / Count;
    public double ImagesPerSecond => Count / Math.Max(Seconds, 1e-9);
}

internal static class Evaluator
{
    public const int ClassCount = 10;

    /// <summary>Runs the model in eval mode without recording gradients over every batch of <paramref name="batches"/>.</summary>
    public static EvalResult Evaluate(Module model, IEnumerable<Batch> batches, int classCount = ClassCount)
    {
        bool wasTraining = model.Training;
        model.Eval();
        var confusion = new int[classCount, classCount];
        double lossSum = 0;
        int correct = 0, count = 0;
        var clock = Stopwatch.StartNew();
        using (Autograd.NoGrad())
        {
            foreach (Batch batch in batches)
            {
                using Tensor logits = model.Forward(batch.Input);
                using Tensor loss = Functional.CrossEntropy(logits, batch.Labels.Span);
                lossSum += (double)loss.Item() * batch.Count;
                correct += Tally(logits.AsSpan(), batch.Labels.Span, confusion);
                count += batch.Count;
            }
        }
        clock.Stop();
        model.Train(wasTraining);
        return new EvalResult(lossSum / count, correct, count, confusion, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Counts correct top-1 predictions of [labels.Length, classes] logits; optionally fills a confusion matrix.</summary>
    public static int Tally(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int[,]? confusion = null)
    {
        int classes = logits.Length / labels.Length;
        int correct = 0;
        for (int row = 0; row < labels.Length; row++)
        {
            ReadOnlySpan<float> scores = logits.Slice(row * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (scores[c] > scores[best])
                {
                    best = c;
                }
            }
            if (best == labels[row])
            {
                correct++;
            }
            if (confusion is not null && labels[row] < confusion.GetLength(0) && best < confusion.GetLength(1))
            {
                confusion[labels[row], best]++;
            }
        }
        return correct;
    }

    /// <summary>Prints the confusion matrix (rows: true class, columns: predicted class) with class names and per-class recall.</summary>
    public static void PrintConfusion(TextWriter output, int[,] confusion)
    {
        int classes = confusion.GetLength(0);
        int nameWidth = Math.Max(5, Enumerable.Range(0, classes).Max(i => ClassName(i).Length));
        output.WriteLine("Confusion matrix (rows: true class, columns: predicted class):");
        var header = new System.Text.StringBuilder();
        header.Append(' ', nameWidth + 8);
        for (int c = 0; c < classes; c++)
        {
            header.Append(CultureInfo.InvariantCulture, $"{c,6}");
        }
        header.Append("  recall");
        output.WriteLine(header.ToString());
        for (int t = 0; t < classes; t++)
        {
            var line = new System.Text.StringBuilder();
            line.Append(CultureInfo.InvariantCulture, $"  {t,2} {ClassName(t).PadRight(nameWidth)}  ");
            int total = 0;
            for (int p = 0; p < classes; p++)
            {
                line.Append(CultureInfo.InvariantCulture, $"{confusion[t, p],6}");
                total += confusion[t, p];
            }
            double recall = total == 0 ? 0 : 100.0 * confusion[t, t] / total;
            line.Append(CultureInfo.InvariantCulture, $"  {recall,5:F1}%");
            output.WriteLine(line.ToString());
        }
    }

    public static string ClassName(int index)
        => (uint)index < (uint)FashionMnist.ClassNames.Count ? FashionMnist.ClassNames[index] : $"class {index}";
}

/// <summary>
/// What <c>cnn train</c> writes next to the weights (<c>best.json</c> beside <c>best.safetensors</c>): the model
/// and the input normalisation it was trained with, so that <c>cnn eval</c> feeds the same inputs.
/// </summary>
internal sealed record ModelCard(
    string Model,
    float NormalizationMean,
    float NormalizationStd,
    int BestEpoch,
    int EpochsRun,
    double? BestValidationLoss,
    double? TestAccuracy,
    string Command)
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The card of a weights file: the same path with the extension .json.</summary>
    public static string PathFor(string weightsPath) => Path.ChangeExtension(weightsPath, ".json");

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Options) + Environment.NewLine);

    public static ModelCard? TryLoad(string weightsPath)
    {
        string path = PathFor(weightsPath);
        if (!File.Exists(path))
        {
            return null;
        }
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), Options);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new CliException($"cannot read {path}: {ex.Message}");
        }

        string? problem = card is null ? "it holds null, not a model card object" : card.Problem();
        return problem is null ? card : throw new CliException($"model card {path}: {problem} (delete it, or write it again with 'cnn train').");
    }

    /// <summary>What makes the card unusable (it feeds the model (pixel - mean) / std), or null.</summary>
    private string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Model))
            return "\"model\" is missing or empty";
        if (!float.IsFinite(NormalizationMean))
            return string.Create(CultureInfo.InvariantCulture, $"\"normalization_mean\" is {NormalizationMean}; it must be a finite number");
        if (!float.IsFinite(NormalizationStd) || NormalizationStd <= 0)
            return string.Create(CultureInfo.InvariantCulture, $"\"normalization_std\" is {NormalizationStd}; it must be a finite number > 0");
        return null;
    }
}
