using System.Diagnostics;
using System.Text.RegularExpressions;
using CnnNative.Tests.Infrastructure;
using SkiaSharp;

namespace CnnNative.Tests.Report;

/// <summary>
/// <c>cnn report</c> on a run directory made by <c>cnn train</c> (LeNet-5, 3 epochs, frozen then unfrozen, on generated
/// images), run as the built tool: each picture is taken back out of the HTML and checked by its pixels.
/// </summary>
public sealed partial class CliReportTests(ITestOutputHelper output)
{
    // The report's layout constants, restated here so that a change of layout has to change the test too.
    private const int Gap = 2;                 // white separator pixels around and between tiles
    private const int CurveWidth = 640, CurveHeight = 400;

    [GeneratedRegex("<h2>(.*?)</h2>\\s*<figure><img alt=\"[^\"]*\" src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\">")]
    private static partial Regex FigurePattern();

    [Fact]
    public void Report_of_a_trained_run_has_every_picture_with_content()
    {
        string root = Path.Combine(TestPaths.ScratchDir, "cli-report-" + Guid.NewGuid().ToString("N")[..8]);
        WriteFolder(Path.Combine(root, "data"));
        string run = Path.Combine(root, "run");
        (int code, _) = Cnn("train", "--model", "lenet5", "--image-size", "28", "--batch", "4", "--workers", "1", "--threads", "1",
            "--data", Path.Combine(root, "data"), "--epochs", "3", "--freeze-backbone", "--unfreeze-after", "1", "--out", run,
            "--mean", "0.5", "--std", "0.5");   // explicit: on h-images an absent --mean arrives as an empty array
        Assert.Equal(0, code);

        string page = Path.Combine(root, "report.html");
        (code, string text) = Cnn("report", run, "--out", page);
        Assert.Equal(0, code);
        Assert.Contains(page, text);
        string html = File.ReadAllText(page);
        Assert.DoesNotContain("src=\"http", html);   // self-contained: no external files
        var figures = FigurePattern().Matches(html).ToDictionary(m => m.Groups[1].Value, m => Convert.FromBase64String(m.Groups[2].Value));
        Assert.Equal(Regex.Matches(html, "<img ").Count, figures.Count);
        Assert.Equal(
            ["Loss", "Accuracy", "Confusion matrix", "First-layer filters",
             "Activations: convolution 1 of 2", "Activations: convolution 2 of 2", "Saliency"],
            figures.Keys);

        foreach ((string name, byte[] png) in figures)
        {
            File.WriteAllBytes(Path.Combine(root, Regex.Replace(name, "[^A-Za-z0-9]+", "_") + ".png"), png);
        }

        output.WriteLine($"pictures written to {root}");

        using (SKBitmap loss = Decode(figures["Loss"]))
        {
            Assert.Equal((CurveWidth, CurveHeight), (loss.Width, loss.Height));
            AssertNotBlank(loss, "Loss", minColours: 8);
        }

        using (SKBitmap confusion = Decode(figures["Confusion matrix"]))
            AssertNotBlank(confusion, "Confusion matrix", minColours: 8);

        // LeNet-5's conv1: 6 filters 5x5 -> 3 columns x 2 rows of 60x60 tiles (scale 64 / 5 = 12).
        using (SKBitmap filters = Decode(figures["First-layer filters"]))
        {
            AssertGrid(filters, columns: 3, rows: 2, tile: 60);
            AssertNotBlank(filters, "filters", minColours: 6);
        }

        // conv1 output: 6 channels 28x28 (scale 96 / 28 = 3 -> 84); conv2: 16 channels 10x10 (scale 9 -> 90), 8 per row.
        using (SKBitmap a1 = Decode(figures["Activations: convolution 1 of 2"]))
            AssertGrid(a1, columns: 6, rows: 1, tile: 84);
        using (SKBitmap a2 = Decode(figures["Activations: convolution 2 of 2"]))
            AssertGrid(a2, columns: 8, rows: 2, tile: 90);

        // Input and saliency side by side, 28x28 at scale 256 / 28 = 9 -> 252; the saliency tile is not constant.
        using SKBitmap saliency = Decode(figures["Saliency"]);
        AssertGrid(saliency, columns: 2, rows: 1, tile: 252);
        double sd = ChannelStd(saliency, Gap + 252 + Gap, Gap, 252, 252);
        output.WriteLine($"saliency tile pixel std {sd:F1}");
        Assert.True(sd > 5, $"the saliency tile is (nearly) constant: pixel std {sd:F1} <= 5");
    }

    [Fact]
    public void Bad_run_directories_exit_2_naming_the_file()
    {
        string root = Path.Combine(TestPaths.ScratchDir, "cli-report-bad-" + Guid.NewGuid().ToString("N")[..8]);
        (int code, string text) = Cnn("report", Path.Combine(root, "absent"));
        Assert.Equal(2, code);
        Assert.Contains("absent", text);

        Directory.CreateDirectory(root);
        (code, text) = Cnn("report", root);
        Assert.Equal(2, code);
        Assert.Contains("metrics.csv: missing", text);

        File.WriteAllText(Path.Combine(root, "metrics.csv"), "epoch,stage,train_loss,train_acc,val_loss,val_acc\n1,full,abc,0.5,1.0,0.5\n");
        File.WriteAllText(Path.Combine(root, "confusion.json"), "{\"classes\": [\"a\", \"b\"], \"matrix\": [[1, 0], [0, 1]]}");
        File.WriteAllText(Path.Combine(root, "run.json"),
            "{\"model\": \"lenet5\", \"data\": null, \"classes\": [\"a\", \"b\"], \"input\": [1, 28, 28], \"mean\": [0.5], \"std\": [0.5]}");
        (code, text) = Cnn("report", root);
        Assert.Equal(2, code);
        Assert.Contains("metrics.csv line 2: train_loss 'abc' is not a number", text);

        File.WriteAllText(Path.Combine(root, "metrics.csv"), "epoch,stage,train_loss,train_acc,val_loss,val_acc\n1,full,1.0,0.5,1.0,0.5\n");
        File.WriteAllText(Path.Combine(root, "confusion.json"), "{\"classes\": [\"a\", \"b\"], \"matrix\": [[1, 0]]}");
        (code, text) = Cnn("report", root);
        Assert.Equal(2, code);
        Assert.Contains("confusion.json: 'matrix' has 1 rows, expected 2", text);

        File.WriteAllText(Path.Combine(root, "confusion.json"), "{\"classes\": [\"a\", \"b\"], \"matrix\": [[1, 0], [0, 1]]}");
        (code, text) = Cnn("report", root);
        Assert.Equal(2, code);
        Assert.Contains("last.safetensors: missing", text);
    }

    private static SKBitmap Decode(byte[] png) => SKBitmap.Decode(png) ?? throw new Xunit.Sdk.XunitException("a figure is not a decodable PNG");

    /// <summary>
    /// The bitmap is exactly a grid of columns x rows tiles of tile x tile pixels with white separators: every separator
    /// row and column is white, and the grid's size follows.
    /// </summary>
    private static void AssertGrid(SKBitmap bitmap, int columns, int rows, int tile)
    {
        Assert.Equal((columns * (tile + Gap) + Gap, rows * (tile + Gap) + Gap), (bitmap.Width, bitmap.Height));
        for (int c = 0; c <= columns; c++)
            for (int y = 0; y < bitmap.Height; y++)
                Assert.Equal(SKColors.White, bitmap.GetPixel(c * (tile + Gap), y));
        for (int r = 0; r <= rows; r++)
            for (int x = 0; x < bitmap.Width; x++)
                Assert.Equal(SKColors.White, bitmap.GetPixel(x, r * (tile + Gap)));
    }

    private static void AssertNotBlank(SKBitmap bitmap, string name, int minColours)
    {
        int colours = Enumerable.Range(0, bitmap.Height).SelectMany(y => Enumerable.Range(0, bitmap.Width).Select(x => bitmap.GetPixel(x, y))).Distinct().Count();
        double sd = ChannelStd(bitmap, 0, 0, bitmap.Width, bitmap.Height);
        Assert.True(colours >= minColours && sd > 10, $"{name} looks blank: {colours} distinct colours (need {minColours}), pixel std {sd:F1} (need > 10)");
    }

    /// <summary>Standard deviation of the R, G, B values in a rectangle.</summary>
    private static double ChannelStd(SKBitmap bitmap, int x0, int y0, int width, int height)
    {
        var values = new List<double>();
        for (int y = y0; y < y0 + height; y++)
            for (int x = x0; x < x0 + width; x++)
            {
                SKColor p = bitmap.GetPixel(x, y);
                values.AddRange([p.Red, p.Green, p.Blue]);
            }

        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
    }

    /// <summary>ROOT/train and ROOT/val with classes "bar" (a bright vertical bar) and "dot" (a bright square) on noise, 28x28.</summary>
    private static void WriteFolder(string root)
    {
        var random = new Random(7);
        foreach ((string split, int n) in new[] { ("train", 8), ("val", 4) })
            foreach (string cls in new[] { "bar", "dot" })
            {
                string dir = Path.Combine(root, split, cls);
                Directory.CreateDirectory(dir);
                for (int i = 0; i < n; i++)
                {
                    using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Rgba8888, SKAlphaType.Opaque));
                    for (int y = 0; y < 28; y++)
                        for (int x = 0; x < 28; x++)
                        {
                            bool on = cls == "bar" ? x is >= 12 and < 16 && y is >= 4 and < 24 : x is >= 10 and < 18 && y is >= 10 and < 18;
                            byte v = on ? (byte)230 : (byte)random.Next(0, 60);
                            bitmap.SetPixel(x, y, new SKColor(v, v, v));
                        }

                    using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), png.ToArray());
                }
            }
    }

    // The built tool as a process (stdout and stderr together; training runs get 5 minutes).
    private (int ExitCode, string Text) Cnn(params string[] args)
    {
        (int code, string stdout, string stderr) = CliRunner.Run(output, args, TimeSpan.FromMinutes(5));
        return (code, stdout + stderr);
    }
}
