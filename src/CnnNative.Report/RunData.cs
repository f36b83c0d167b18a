using System.Globalization;
using System.Text.Json;

namespace CnnNative.Report;

/// <summary>A file of the run directory is missing or malformed; the message names the file and what is wrong.</summary>
public sealed class ReportInputException(string message) : Exception(message);

/// <summary>One row of <c>metrics.csv</c> (docs/fine-tuning.md, "Run directory format").</summary>
public sealed record EpochMetrics(int Epoch, string Stage, double TrainLoss, double TrainAccuracy, double ValLoss, double ValAccuracy);

/// <summary>The validation confusion matrix of <c>confusion.json</c>: rows are true classes, columns predictions.</summary>
public sealed record ConfusionData(IReadOnlyList<string> Classes, int[,] Counts);

/// <summary>The fields of <c>run.json</c> the report needs.</summary>
public sealed record RunInfo(string Model, string? DataDirectory, IReadOnlyList<string> Classes, int[] Input, float[] Mean, float[] Std);

/// <summary>Readers of the run directory's text files, with messages that name the file and the bad line or field.</summary>
public static class RunData
{
    /// <summary>Per-epoch metrics.</summary>
    public const string MetricsFile = "metrics.csv";
    /// <summary>Validation confusion matrix.</summary>
    public const string ConfusionFile = "confusion.json";
    /// <summary>Run settings.</summary>
    public const string RunFile = "run.json";
    /// <summary>Weights after the last epoch.</summary>
    public const string WeightsFile = "last.safetensors";

    private static readonly string[] MetricsColumns = ["epoch", "stage", "train_loss", "train_acc", "val_loss", "val_acc"];

    /// <summary>Reads <c>metrics.csv</c>: a header naming at least the six columns used here, then one row per epoch.</summary>
    public static IReadOnlyList<EpochMetrics> ReadMetrics(string path)
    {
        string[] lines = ReadLines(path);
        if (lines.Length == 0)
            throw new ReportInputException($"{path}: empty file (expected a header line 'epoch,stage,train_loss,train_acc,val_loss,val_acc,...').");
        string[] header = lines[0].Split(',');
        int[] index = MetricsColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        int missing = Array.IndexOf(index, -1);
        if (missing >= 0)
            throw new ReportInputException($"{path}: the header has no column '{MetricsColumns[missing]}' (header: '{lines[0]}').");

        var rows = new List<EpochMetrics>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
                continue;
            string[] cells = lines[i].Split(',');
            if (cells.Length != header.Length)
                throw new ReportInputException($"{path} line {i + 1}: {cells.Length} fields, the header has {header.Length}.");
            double Number(int column)
            {
                string text = cells[index[column]];
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new ReportInputException($"{path} line {i + 1}: {MetricsColumns[column]} '{text}' is not a number.");
                return v;
            }

            if (!int.TryParse(cells[index[0]], NumberStyles.Integer, CultureInfo.InvariantCulture, out int epoch) || epoch < 1)
                throw new ReportInputException($"{path} line {i + 1}: epoch '{cells[index[0]]}' is not a positive integer.");
            rows.Add(new EpochMetrics(epoch, cells[index[1]], Number(2), Number(3), Number(4), Number(5)));
        }

        if (rows.Count == 0)
            throw new ReportInputException($"{path}: no epoch rows after the header.");
        return rows;
    }

    /// <summary>Reads <c>confusion.json</c>: <c>classes</c> (K names) and <c>matrix</c> (K rows of K non-negative counts).</summary>
    public static ConfusionData ReadConfusion(string path)
    {
        using JsonDocument doc = ParseJson(path);
        string[] classes = StringArray(path, doc.RootElement, "classes");
        if (!doc.RootElement.TryGetProperty("matrix", out JsonElement matrix) || matrix.ValueKind != JsonValueKind.Array)
            throw new ReportInputException($"{path}: no 'matrix' array.");
        int k = classes.Length;
        if (matrix.GetArrayLength() != k)
            throw new ReportInputException($"{path}: 'matrix' has {matrix.GetArrayLength()} rows, expected {k} (one per class).");
        var counts = new int[k, k];
        int r = 0;
        foreach (JsonElement row in matrix.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() != k)
                throw new ReportInputException($"{path}: 'matrix' row {r} is not an array of {k} counts.");
            int c = 0;
            foreach (JsonElement cell in row.EnumerateArray())
            {
                if (cell.ValueKind != JsonValueKind.Number || !cell.TryGetInt32(out int v) || v < 0)
                    throw new ReportInputException($"{path}: 'matrix'[{r}][{c}] = {cell.GetRawText()} is not a non-negative integer.");
                counts[r, c++] = v;
            }

            r++;
        }

        return new ConfusionData(classes, counts);
    }

    /// <summary>Reads <c>run.json</c>: model, data, classes, input [C, H, W], mean and std (one per channel).</summary>
    public static RunInfo ReadRun(string path)
    {
        using JsonDocument doc = ParseJson(path);
        JsonElement root = doc.RootElement;
        if (!root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(model.GetString()))
            throw new ReportInputException($"{path}: no 'model' name.");
        string? data = root.TryGetProperty("data", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        string[] classes = StringArray(path, root, "classes");
        int[] input = NumberArray(path, root, "input").Select(v => (int)v).ToArray();
        if (input.Length != 3 || input.Any(v => v < 1))
            throw new ReportInputException($"{path}: 'input' must be [C, H, W] with positive sizes, got [{string.Join(", ", input)}].");
        float[] mean = NumberArray(path, root, "mean").Select(v => (float)v).ToArray();
        float[] std = NumberArray(path, root, "std").Select(v => (float)v).ToArray();
        if (mean.Length != input[0] || std.Length != input[0] || std.Any(s => !(s > 0)))
            throw new ReportInputException($"{path}: 'mean' and 'std' need {input[0]} values (one per channel, std > 0); got {mean.Length} and {std.Length}.");
        return new RunInfo(model.GetString()!, data, classes, input, mean, std);
    }

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ReportInputException($"{path}: cannot read ({ex.Message}).");
        }
    }

    private static JsonDocument ParseJson(string path)
    {
        string text = string.Join('\n', ReadLines(path));
        try
        {
            JsonDocument doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new ReportInputException($"{path}: expected a JSON object.");
            }

            return doc;
        }
        catch (JsonException ex)
        {
            throw new ReportInputException($"{path}: malformed JSON ({ex.Message}).");
        }
    }

    private static string[] StringArray(string path, JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement a) || a.ValueKind != JsonValueKind.Array || a.GetArrayLength() == 0
            || a.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
            throw new ReportInputException($"{path}: '{name}' must be a non-empty array of strings.");
        return a.EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static double[] NumberArray(string path, JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement a) || a.ValueKind != JsonValueKind.Array
            || a.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number))
            throw new ReportInputException($"{path}: '{name}' must be an array of numbers.");
        return a.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }
}
