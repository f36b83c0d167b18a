using System.Diagnostics;
using System.Text.Json.Nodes;
using CnnNative.Tests.Infrastructure;
using SkiaSharp;

namespace CnnNative.Tests.Training;

/// <summary><c>cnn train</c> on an image folder, run as the built tool: fine-tuning stages, the run directory, bad input.</summary>
public sealed class CliImageFolderTrainTests(ITestOutputHelper output)
{
    [Fact]
    public void Pretrain_then_finetune_with_freezing_writes_the_run_directory()
    {
        string root = Path.Combine(TestPaths.ScratchDir, "cli-imagefolder-" + Guid.NewGuid().ToString("N")[..8]);
        WriteFolder(Path.Combine(root, "a"), ["x", "y", "z"]);
        WriteFolder(Path.Combine(root, "b"), ["p", "q"]);
        string[] common = ["train", "--model", "lenet5", "--image-size", "28", "--batch", "4", "--workers", "1", "--threads", "1"];

        (int code, _) = Cnn([.. common, "--data", Path.Combine(root, "a"), "--epochs", "1", "--out", Path.Combine(root, "run-a")]);
        Assert.Equal(0, code);
        string weights = Path.Combine(root, "run-a", "last.safetensors");
        Assert.True(File.Exists(weights));

        string runB = Path.Combine(root, "run-b");
        (code, string text) = Cnn([.. common, "--data", Path.Combine(root, "b"), "--epochs", "3", "--out", runB,
            "--weights", weights, "--freeze-backbone", "--unfreeze-after", "2"]);
        Assert.Equal(0, code);
        Assert.Contains("new head (fc3) for 2 classes", text);
        string[] rows = File.ReadAllLines(Path.Combine(runB, "metrics.csv"));
        Assert.Equal("epoch,stage,train_loss,train_acc,val_loss,val_acc,lr,seconds,images_per_s", rows[0]);
        Assert.Equal(["frozen", "frozen", "unfrozen"], rows.Skip(1).Select(r => r.Split(',')[1]));
        Assert.Equal(["0.001", "0.001", "0.0001"], rows.Skip(1).Select(r => r.Split(',')[6]));
        JsonNode confusion = JsonNode.Parse(File.ReadAllText(Path.Combine(runB, "confusion.json")))!;
        Assert.Equal(["p", "q"], confusion["classes"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(2 * 3, confusion["matrix"]!.AsArray().Sum(r => r!.AsArray().Sum(v => v!.GetValue<int>()))); // 3 val images per class
        Assert.True(File.Exists(Path.Combine(runB, "run.json")));
    }

    [Fact]
    public void Bad_fine_tuning_options_exit_2_with_a_message()
    {
        string root = Path.Combine(TestPaths.ScratchDir, "cli-imagefolder-bad-" + Guid.NewGuid().ToString("N")[..8]);
        WriteFolder(root, ["x", "y"]);
        (int code, string text) = Cnn("train", "--data", root, "--model", "lenet5", "--epochs", "2", "--unfreeze-after", "1");
        Assert.Equal(2, code);
        Assert.Contains("--unfreeze-after 1 needs --freeze-backbone", text);
        (code, text) = Cnn("train", "--data", root, "--model", "lenet5", "--weights", Path.Combine(root, "absent.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("absent.safetensors", text);
        (code, text) = Cnn("train", "--data", root, "--model", "lenet5", "--std", "0");
        Assert.Equal(2, code);
        Assert.Contains("std", text);
    }

    /// <summary>ROOT/train/&lt;class&gt;/*.png (4 per class) and ROOT/val/&lt;class&gt;/*.png (3 per class), 20x24 RGB.</summary>
    private static void WriteFolder(string root, string[] classes)
    {
        for (int c = 0; c < classes.Length; c++)
        {
            foreach ((string split, int n) in new[] { ("train", 4), ("val", 3) })
            {
                string dir = Path.Combine(root, split, classes[c]);
                Directory.CreateDirectory(dir);
                for (int i = 0; i < n; i++)
                {
                    using var bitmap = new SKBitmap(new SKImageInfo(24, 20, SKColorType.Rgba8888, SKAlphaType.Opaque));
                    bitmap.Erase(new SKColor((byte)(80 * c), (byte)(30 * i), 128));
                    using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(dir, $"{i}.png"), png.ToArray());
                }
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
