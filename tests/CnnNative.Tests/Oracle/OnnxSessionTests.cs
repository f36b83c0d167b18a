using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Onnx;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// An imported ONNX model compiled into an <see cref="InferenceSession"/>: torch exports the model
/// (torch.onnx.export, tests/oracle/export_onnx.py), <see cref="OnnxModel"/> loads it, the session compiles it;
/// its output is compared with the eager forward and with ONNX Runtime on the same input.
/// ResNet-18 and EfficientNet-B0 (squeeze-excitation broadcasting; 10 classes, 64x64) on the default ISA; the Mul-gating module on every ISA.
/// </summary>
[Collection(OnnxFixtures.Collection)]
public sealed class OnnxSessionTests(ITestOutputHelper output)
{
    /// <summary>
    /// <see cref="OnnxTests.Normwise"/> (abs 1e-4 + 1e-5 * max |reference|): the session folds batch norm and fuses
    /// activations, which changes roundings, not results; a wrong node order or buffer reuse moves logits by O(0.1).
    /// </summary>
    private static Tolerance Normwise(OracleTensor expected) => OnnxTests.Normwise(expected);

    public static TheoryData<string, CnnIsa> Rows()
    {
        var rows = new TheoryData<string, CnnIsa> { { "resnet18", Cnn.Isa }, { "efficientnet_b0", Cnn.Isa } };
        foreach (CnnIsa isa in Isas.Tested)
            rows.Add("gated", isa);
        return rows;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Session_of_an_imported_model_matches_its_forward_and_onnx_runtime(string arch, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        OnnxExportJob job = Job(arch);
        int[] shape = job.InputShape;
        OnnxExport file = OnnxFixtures.Export(job, Rows().Select(r => Job((string)r[0])));
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-session-input"), shape);
        OracleTensor reference = OnnxFixtures.OrtOutput(file.Path, "input", x);
        using OnnxModel model = OnnxModel.Load(file.Path);

        using Tensor eager = model.Forward(x);
        using InferenceSession session = InferenceSession.Create(model, shape);
        output.WriteLine(session.ToString());
        Assert.Equal([shape[0], 10], session.OutputShape);
        using Tensor y = Tensor.Zeros(session.OutputShape);
        session.Run(x, y);

        OracleTensor forward = OracleTensor.Of("forward", eager);
        OracleErrors.AssertClose(output, "onnx-session-vs-forward." + arch, isa, "opset13", y, forward, Normwise(forward));
        OracleErrors.AssertClose(output, "onnx-session." + arch, isa, "opset13", y, reference, Normwise(reference));
    }

    private static OnnxExportJob Job(string arch) =>
        new(arch, 13, arch is "resnet18" or "efficientnet_b0" ? [1, 3, 64, 64] : [2, 3, 8, 8], 10, Seeds.Of(arch) % 1000);

    /// <summary>
    /// The hand-made broadcasting graph (per-channel, scalar, [N, 1, H, W] * [N, C, 1, 1] computed, [1, C, 1, W] and [C, H, W]
    /// constants, [N, C, H, W] + [N, C, 1, 1] + Relu): the session runs the broadcasts as native steps.
    /// </summary>
    [Theory]
    [MemberData(nameof(BroadcastRows))]
    public void Session_of_a_broadcasting_graph_matches_its_forward_and_onnx_runtime(string graph, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        (OnnxModel model, Tensor x, OracleTensor expected) = HandMade(graph, isa);
        using (model)
        using (x)
        {
            using Tensor eager = model.Forward(x);
            using InferenceSession session = InferenceSession.Create(model, x.Shape);
            output.WriteLine($"{session}: {string.Join(", ", session.Steps)}");
            Assert.Equal(2, session.Steps.Count(step => step == "Functional.BroadcastMul"));
            Assert.Equal(2, session.Steps.Count(step => step == "Functional.BroadcastAdd"));
            using Tensor y = Tensor.Zeros(session.OutputShape);
            session.Run(x, y);
            OracleTensor forward = OracleTensor.Of("forward", eager);
            OracleErrors.AssertClose(output, "onnx-session-vs-forward." + graph, isa, "opset13", y, forward, Normwise(forward));
            OracleErrors.AssertClose(output, "onnx-session." + graph, isa, "opset13", y, expected, Normwise(expected));
        }
    }

    public static TheoryData<string, CnnIsa> BroadcastRows() => Isas.Cross(["broadcast"]);

    /// <summary>The eager-only paths (explicit-padding pools, Gemm transA) refuse to compile, naming themselves.</summary>
    [Theory]
    [InlineData("avgpool_asym_exclude", "asymmetric pads")]
    [InlineData("gemm_trans_a", "MatMulTransposedA")]
    public void Eager_only_paths_are_named_by_the_session(string graph, string fragment)
    {
        (OnnxModel model, Tensor x, _) = HandMade(graph, Cnn.Isa);
        using (model)
        using (x)
        {
            NotSupportedException e = Assert.Throws<NotSupportedException>(() => InferenceSession.Create(model, x.Shape));
            Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
            output.WriteLine(e.Message);
        }
    }

    private (OnnxModel Model, Tensor X, OracleTensor Expected) HandMade(string graph, CnnIsa isa)
    {
        (string path, int[] shape) = OnnxGraphs.Write(graph, 13, Seeds.Of(graph) % 1000);
        Tensor x = TestData.NormalTensor(Seeds.Of(graph + "-session-x"), shape);
        OracleTensor reference = OnnxFixtures.OrtOutput(path, "x", x);
        OnnxModel model = OnnxModel.Load(path);
        File.Delete(path);
        return (model, x, reference);
    }
}
