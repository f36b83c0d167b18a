using System.Diagnostics;
using CnnNative.Interop;
using CnnNative.Onnx;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// ONNX import against torch: models built in torch (LeNet-5, torchvision ResNet-18 / MobileNetV2 / GoogLeNet /
/// AlexNet with random BatchNorm state, and small modules for Concat, Clip, Pad, Mul gating) and exported with
/// torch.onnx.export (eval mode, dynamic batch) are loaded with <see cref="OnnxModel"/> and compared with torch's own output; hand-made graphs
/// (auto_pad, asymmetric pads, 1-D conv, Gemm transB=0 / alpha / beta / transA, MatMul, Softmax axis semantics per opset, Add/Mul
/// broadcasting, pools with asymmetric or wide pads and count_include_pad both ways) are compared with the reference interpreter of
/// tests/oracle/ops_onnx.py (torch functional ops in float64; pools with pads torch does not take window by window from the ONNX definition).
/// </summary>
[Collection(OracleCollection.Name)]
public sealed class OnnxTests(OracleFixture oracle, ITestOutputHelper output)
{
    /// <summary>
    /// Normwise: abs 1e-4 + 1e-5 * max |reference| on every element, as for the zoo models (float32 reductions
    /// of up to 4608 terms in ResNet-18; the reference is float64). A wrong attribute, padding side or axis
    /// moves outputs by O(0.1) or more.
    /// </summary>
    internal static Tolerance Normwise(OracleTensor expected) => new(1e-4 + (1e-5 * expected.Data.Max(v => Math.Abs(v))), 0);

    public static TheoryData<string, int> ExportRows()
    {
        var rows = new TheoryData<string, int>();
        for (int opset = 11; opset <= 17; opset++)
            rows.Add("lenet5", opset);
        foreach (string arch in new[] { "resnet18", "mobilenet_v2", "googlenet", "concat_clip", "pad_conv", "gated" })
        {
            rows.Add(arch, 11);
            rows.Add(arch, 17);
        }

        rows.Add("alexnet", 13);
        rows.Add("efficientnet_b0", 13); // squeeze-excitation: [N, C, H, W] * [N, C, 1, 1] of two computed values
        return rows;
    }

    private static int[] InputShape(string arch) => arch switch
    {
        "lenet5" => [1, 1, 28, 28],
        "resnet18" => [1, 3, 32, 32],
        "mobilenet_v2" or "googlenet" or "efficientnet_b0" => [1, 3, 64, 64],
        "alexnet" => [1, 3, 224, 224], // its adaptive pooling exports only for 6x6 features
        _ => [1, 3, 8, 8],
    };

    [Theory]
    [MemberData(nameof(ExportRows))]
    public void Torch_exported_model_matches_torch(string arch, int opset)
    {
        int[] shape = InputShape(arch);
        string path = TestPaths.NewScratchFile($"{arch}-opset{opset}", ".onnx");
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-onnx-input"), [2, .. shape[1..]]);
        OracleReply torch = oracle.Run("onnx_export",
            new { arch, opset, path, input_shape = shape, num_classes = 10, seed = Seeds.Of(arch) % 1000 }, OracleTensor.Of("input", x));

        var watch = Stopwatch.StartNew();
        using OnnxModel model = OnnxModel.Load(path);
        double loadMs = watch.Elapsed.TotalMilliseconds;
        File.Delete(path);
        Assert.Equal(opset, model.Opset);
        Assert.Equal([-1, .. shape[1..]], model.Inputs.Single().Shape);
        Assert.Equal("output", model.Outputs.Single().Name);
        if (arch is "lenet5" or "pad_conv")
            Assert.Equal(torch.Header["param_count"]!.GetValue<long>(), model.ParameterCount());

        watch.Restart();
        using Tensor y = model.Forward(x);
        output.WriteLine($"{arch} opset {opset}: ops [{string.Join(", ", torch.Header["op_types"]!.AsArray())}], " +
                         $"load {loadMs:0} ms, forward {watch.Elapsed.TotalMilliseconds:0} ms");
        OracleTensor expected = torch["output"];
        OracleErrors.AssertClose(output, "onnx." + arch, Cnn.Isa, $"opset{opset}", y, expected, Normwise(expected));
    }

    public static TheoryData<string, CnnIsa> IsaRows() => Isas.Cross(["lenet5", "concat_clip", "pad_conv", "gated"]);

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Torch_exported_model_matches_torch_on_every_isa(string arch, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int[] shape = InputShape(arch);
        string path = TestPaths.NewScratchFile($"{arch}-{isa}", ".onnx");
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-isa-input"), [3, .. shape[1..]]);
        OracleReply torch = oracle.Run("onnx_export",
            new { arch, opset = 13, path, input_shape = shape, num_classes = 10, seed = 11 }, OracleTensor.Of("input", x));
        using OnnxModel model = OnnxModel.Load(path);
        File.Delete(path);
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "onnx." + arch, isa, "opset13-batch3", y, torch["output"], Normwise(torch["output"]));
    }

    public static TheoryData<string, int> GraphRows()
    {
        var rows = new TheoryData<string, int>();
        foreach (string graph in new[]
                 {
                     "conv_same_upper", "conv_same_lower", "conv_valid", "conv_asym", "conv1d", "linear", "softmax_axis", "broadcast",
                     "maxpool_asym", "maxpool_asym_dilated_ceil", "maxpool_same_upper", "avgpool_asym_exclude", "avgpool_asym_include",
                     "avgpool_asym_ceil", "avgpool_wide_pads", "avgpool_same_lower", "avgpool1d_asym", "pad_avgpool_mixed", "gemm_scaled",
                     "gemm_trans_a",
                 })
        {
            rows.Add(graph, 11);
            rows.Add(graph, 13);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(GraphRows))]
    public void Hand_made_graph_matches_the_reference_interpreter(string graph, int opset) => CheckGraph(graph, opset, $"opset{opset}");

    /// <summary>The broadcast, explicit-padding pool and transA paths on every ISA (their pool and GEMM kernels differ per ISA).</summary>
    public static TheoryData<string, CnnIsa> IsaGraphRows() =>
        Isas.Cross(["broadcast", "maxpool_asym", "maxpool_asym_dilated_ceil", "avgpool_asym_exclude", "avgpool_asym_ceil", "gemm_scaled", "gemm_trans_a"]);

    [Theory]
    [MemberData(nameof(IsaGraphRows))]
    public void Hand_made_graph_matches_the_reference_interpreter_on_every_isa(string graph, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        CheckGraph(graph, 13, "opset13-" + isa);
    }

    private void CheckGraph(string graph, int opset, string label)
    {
        string path = TestPaths.NewScratchFile($"{graph}-{label}", ".onnx");
        OracleReply made = oracle.Run("onnx_graph", new { graph, opset, path, seed = Seeds.Of(graph) % 1000 });
        int[] shape = made.Header["input_shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
        using Tensor x = TestData.NormalTensor(Seeds.Of(graph + "-x"), shape);
        OracleReply reference = oracle.Run("onnx_run", new { path }, OracleTensor.Of("x", x));

        using OnnxModel model = OnnxModel.Load(path);
        File.Delete(path);
        using Tensor y = model.Forward(x);
        OracleTensor expected = reference["y"];
        OracleErrors.AssertClose(output, "onnx.graph." + graph, Cnn.Isa, label, y, expected, Normwise(expected));
    }

    [Fact]
    public void Initializers_are_the_state_dict_and_run_at_any_batch()
    {
        string path = TestPaths.NewScratchFile("lenet5-state", ".onnx");
        using Tensor x = TestData.NormalTensor(Seeds.Of("lenet5-batch5"), 5, 1, 28, 28);
        OracleReply torch = oracle.Run("onnx_export",
            new { arch = "lenet5", opset = 13, path, input_shape = new[] { 1, 1, 28, 28 }, seed = 7 }, OracleTensor.Of("input", x));
        using OnnxModel model = OnnxModel.Load(path);
        File.Delete(path);

        Assert.Equal(
            ["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"],
            model.StateDict().Select(e => e.Key).Order(StringComparer.Ordinal));
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "onnx.lenet5", Cnn.Isa, "batch5", y, torch["output"], Normwise(torch["output"]));

        // Zeroing fc3.bias through the state dict changes the output by exactly that bias.
        Tensor bias = model.StateDict().Single(e => e.Key == "fc3.bias").Value;
        float[] b = bias.ToArray();
        bias.CopyFrom(new float[b.Length]);
        using Tensor y2 = model.Forward(x);
        float[] before = y.ToArray(), after = y2.ToArray();
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i] - b[i % b.Length], after[i], 4);
    }
}
