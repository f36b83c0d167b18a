using System.Text.RegularExpressions;
using CnnNative.Models;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// <c>cnn inspect</c> and <c>cnn verify</c>, run as the built tool (src/CnnNative.Cli's cnn.dll, a separate
/// process: ONNX Runtime in-process for --onnx, its own torch oracle for --weights) on files exported by torch.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed partial class CliOnnxTests(ITestOutputHelper output)
{
    private (int ExitCode, string Stdout, string Stderr) Cnn(params string[] args) => CliRunner.Run(output, args);

    private static string Export(string arch, int[] shape, out long paramCount)
    {
        OnnxExport file = OnnxFixtures.Export(new OnnxExportJob(arch, 13, shape, 10, 5));
        paramCount = file.ParamCount;
        return file.Path;
    }

    [GeneratedRegex(@"total: \d+ layers, ([\d,]+) parameters")]
    private static partial Regex TotalLine();

    private static long Total(string stdout)
    {
        Match m = TotalLine().Match(stdout);
        Assert.True(m.Success, "no total line in:\n" + stdout);
        return long.Parse(m.Groups[1].Value.Replace(",", ""));
    }

    [Fact]
    public void Verify_passes_on_an_exported_model_and_fails_when_a_weight_is_perturbed()
    {
        string path = Export("concat_clip", [1, 3, 8, 8], out _);
        (int code, string stdout, _) = Cnn("verify", "--onnx", path, "--batch", "3", "--seed", "4");
        Assert.Equal(0, code);
        Assert.Contains("PASS", stdout, StringComparison.Ordinal);

        (code, stdout, _) = Cnn("verify", "--onnx", path, "--perturb", "fc.bias=0.5");
        Assert.Equal(1, code);
        Assert.Contains("FAIL", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_checks_zoo_weights_against_torchvision()
    {
        string path = TestPaths.NewScratchFile("resnet18", ".safetensors");
        // torchvision's resnet18 with random BN state, written by the test's own safetensors writer (libtorch 2.10).
        using (var torchModel = TorchModelOracle.Build(9, () => TorchReferenceModels.Create("resnet18", 10), TorchModelOracle.BatchNormSpread.Zoo))
        {
            TorchModelOracle.Save(torchModel, path);
        }
        (int code, string stdout, _) = Cnn("verify", "--weights", path, "--model", "resnet18", "--num-classes", "10", "--input-shape", "2,3,32,32");
        Assert.Equal(0, code);
        Assert.Contains("PASS", stdout, StringComparison.Ordinal);

        (code, _, _) = Cnn("verify", "--weights", path, "--model", "resnet18", "--num-classes", "10", "--input-shape", "1,3,32,32",
            "--perturb", "fc.bias=0.01");
        Assert.Equal(1, code);
    }

    [Fact]
    public void Verify_usage_errors_exit_2()
    {
        Assert.Equal(2, Cnn("verify").ExitCode);
        Assert.Equal(2, Cnn("verify", "--onnx", "x.onnx", "--weights", "w.safetensors", "--model", "resnet18").ExitCode);
        (int code, _, string stderr) = Cnn("verify", "--onnx", Path.Combine(TestPaths.ScratchDir, "missing.onnx"));
        Assert.Equal(2, code);
        Assert.Contains("missing.onnx", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_totals_equal_the_parameter_count()
    {
        string path = Export("lenet5", [1, 1, 28, 28], out long torchCount);
        (int code, string stdout, _) = Cnn("inspect", path);
        Assert.Equal(0, code);
        Assert.Equal(torchCount, Total(stdout));
        Assert.Contains("[1, 10]", stdout, StringComparison.Ordinal);

        using Nn.Module lenet = ModelZoo.Create("lenet5", 10);
        (code, stdout, _) = Cnn("inspect", "lenet5", "--num-classes", "10");
        Assert.Equal(0, code);
        Assert.Equal(lenet.ParameterCount(), Total(stdout));
        Assert.Contains("833,040 FLOPs", stdout, StringComparison.Ordinal); // 2 x (235,200 + 480,000 + 48,000 + 10,080 + 840) MACs

        foreach (string name in new[] { "resnet18", "mobilenet_v2", "googlenet" })
        {
            using Nn.Module zoo = ModelZoo.Create(name);
            (code, stdout, _) = Cnn("inspect", name, "--input-shape", "1,3,64,64");
            Assert.Equal(0, code);
            Assert.Equal(zoo.ParameterCount(), Total(stdout));
        }
    }
}
