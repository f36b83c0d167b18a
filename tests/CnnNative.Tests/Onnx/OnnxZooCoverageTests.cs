using System.Diagnostics;
using CnnNative.Inference;
using CnnNative.Onnx;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Onnx;

/// <summary>
/// Coverage of torchvision 0.14 as exported by torch.onnx.export (opsets 13 and 17, dynamic batch; random weights,
/// randomized batch-norm statistics; batch 2 at each model's usual input size, segmentation at 3x224x224): every model
/// must load, run eagerly and as a compiled <see cref="InferenceSession"/>, and match ONNX Runtime on the same input
/// within the PASS rule of <c>cnn verify</c> (max abs error &lt;= 1e-4 + 1e-4 x max |reference|).
/// The whole list takes long (about 60 exports of up to 0.5 GB): it carries the trait Category=OnnxZoo, which
/// <c>./build.sh test</c> leaves out and <c>./build.sh zoo-onnx</c> runs; a slice of small models runs in CI. Every row
/// appends its verdict (or the reason it does not load, e.g. the missing operator) to artifacts/onnx-zoo.txt.
/// </summary>
[Collection(OnnxFixtures.Collection)]
public sealed class OnnxZooCoverageTests(ITestOutputHelper output)
{
    /// <summary>The issue's list: classifiers, then segmentation models.</summary>
    public static readonly string[] Classifiers =
    [
        "alexnet", "vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "resnet18", "resnet50", "resnet101", "resnext50_32x4d", "wide_resnet50_2",
        "googlenet", "inception_v3", "densenet121", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small",
        "mobilenet_v3_large", "mnasnet0_5", "mnasnet1_0", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "efficientnet_b0",
        "efficientnet_b3", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny",
    ];

    public static readonly string[] Segmentation = ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"];

    /// <summary>The CI slice: small models whose op set spans Conv/BN/Relu/Clip, pools, Concat, Add, Flatten/Gemm.</summary>
    public static readonly string[] Slice = ["squeezenet1_1", "resnet18", "mobilenet_v2", "efficientnet_b0"];

    private static readonly object s_reportLock = new();

    public static TheoryData<string, int> AllRows() => Rows([.. Classifiers, .. Segmentation]);

    public static TheoryData<string, int> SliceRows() => Rows(Slice);

    private static TheoryData<string, int> Rows(IEnumerable<string> archs)
    {
        var rows = new TheoryData<string, int>();
        foreach (string arch in archs)
        {
            rows.Add(arch, 13);
            rows.Add(arch, 17);
        }

        return rows;
    }

    private static OnnxExportJob Job(string arch, int opset)
    {
        bool segmentation = Segmentation.Contains(arch);
        int size = arch == "inception_v3" ? 299 : 224;
        return new OnnxExportJob(arch, opset, [2, 3, size, size], segmentation ? 21 : 1000, Seeds.Of(arch) % 1000);
    }

    [Theory]
    [Trait("Category", "OnnxZoo")]
    [MemberData(nameof(AllRows))]
    public void Torchvision_model_loads_and_matches_onnx_runtime(string arch, int opset) => Check(arch, opset);

    [Theory]
    [MemberData(nameof(SliceRows))]
    public void Torchvision_slice_loads_and_matches_onnx_runtime(string arch, int opset) => Check(arch, opset);

    /// <summary>Exports both opsets of the model in one python process; each row deletes its own file (VGG-16 is ~0.5 GB).</summary>
    private void Check(string arch, int opset)
    {
        OnnxExportJob job = Job(arch, opset);
        OnnxExport file = OnnxFixtures.Export(job, [Job(arch, 13), Job(arch, 17)]);
        try
        {
            CheckFile(arch, opset, job, file);
        }
        finally
        {
            File.Delete(file.Path);
        }
    }

    private void CheckFile(string arch, int opset, OnnxExportJob job, OnnxExport file)
    {
        output.WriteLine($"{arch} opset {opset}: ops [{string.Join(", ", file.OpTypes)}]");
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-zoo-input"), job.InputShape);
        OracleTensor expected = OnnxFixtures.OrtOutput(file.Path, "input", x);
        double maxRef = expected.Data.Max(v => Math.Abs(v));
        // A random model whose activations explode (or vanish) passes a relative check vacuously: the fixture must not.
        Assert.True(maxRef is > 1e-3 and < 1e4, $"{arch}: max |ORT output| = {maxRef:g3}, a degenerate random model (fix its init in export_onnx.py)");
        var tolerance = new Tolerance(1e-4 + (1e-4 * maxRef), 0);

        OnnxModel model;
        var watch = Stopwatch.StartNew();
        try
        {
            model = OnnxModel.Load(file.Path);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException)
        {
            Report(arch, opset, $"does not load: {e.GetType().Name}: {e.Message}");
            throw;
        }

        using (model)
        {
            double loadMs = watch.Elapsed.TotalMilliseconds;
            string stage = "eager";
            try
            {
                using (Tensor eager = model.Forward(x))
                    OracleErrors.AssertClose(output, "onnx-zoo." + arch, Cnn.Isa, $"opset{opset}-eager", eager, expected, tolerance);
                stage = "session";
                using InferenceSession session = InferenceSession.Create(model, job.InputShape);
                using Tensor y = Tensor.Zeros(session.OutputShape);
                session.Run(x, y);
                OracleErrors.AssertClose(output, "onnx-zoo." + arch, Cnn.Isa, $"opset{opset}-session", y, expected, tolerance);
            }
            catch (Exception e)
            {
                Report(arch, opset, $"loads ({loadMs:0} ms); {stage} FAILS: {e.GetType().Name}: {FirstLine(e.Message)}");
                throw;
            }

            Report(arch, opset, $"loads ({loadMs:0} ms), eager and session match ORT (tolerance {tolerance})");
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0];

    private void Report(string arch, int opset, string verdict)
    {
        string line = $"{arch,-30} opset {opset}: {verdict}";
        output.WriteLine(line);
        lock (s_reportLock)
            File.AppendAllText(Path.Combine(TestPaths.ArtifactsDir, "onnx-zoo.txt"), line + Environment.NewLine);
    }
}
