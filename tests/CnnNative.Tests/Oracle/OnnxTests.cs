using System.Diagnostics;
using CnnNative.Interop;
using CnnNative.Onnx;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// ONNX import against ONNX Runtime 1.32 (in-process, graph optimizations off): models built in torch (LeNet-5, torchvision
/// ResNet-18 / MobileNetV2 / GoogLeNet / AlexNet with random BatchNorm state, and small modules for Concat, Clip, Pad, Mul
/// gating) and exported with torch.onnx.export (tests/oracle/export_onnx.py; eval mode, dynamic batch), and hand-made graphs
/// (<see cref="OnnxGraphs"/>: auto_pad, asymmetric pads, 1-D conv, Gemm transB=0 / alpha / beta / transA, MatMul, Softmax axis
/// semantics per opset, Add/Mul broadcasting, pools with asymmetric or wide pads and count_include_pad both ways) are loaded with
/// <see cref="OnnxModel"/> and compared with ORT's output on the same input. ORT is an implementation of the spec we did not
/// write, so it cannot share our misreadings of it.
/// </summary>
[Collection(OnnxFixtures.Collection)]
public sealed class OnnxTests(ITestOutputHelper output)
{
    /// <summary>
    /// Normwise: abs 1e-4 + 1e-5 * max |reference| on every element, as for the zoo models (float32 reductions
    /// of up to 4608 terms in ResNet-18 on both sides, summed in different orders). A wrong attribute, padding side or axis
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

    /// <summary>Every export of this class, in one python process (torch's import dominates a small export).</summary>
    private static IEnumerable<OnnxExportJob> AllJobs() =>
        ExportRows().Select(r => Job((string)r[0], (int)r[1])).Concat(IsaRows().Select(r => Job((string)r[0], 13)));

    private static OnnxExportJob Job(string arch, int opset) => new(arch, opset, InputShape(arch), 10, Seeds.Of(arch) % 1000);

    [Theory]
    [MemberData(nameof(ExportRows))]
    public void Torch_exported_model_matches_onnx_runtime(string arch, int opset)
    {
        int[] shape = InputShape(arch);
        OnnxExport file = OnnxFixtures.Export(Job(arch, opset), AllJobs());
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-onnx-input"), [2, .. shape[1..]]);
        OracleTensor expected = OnnxFixtures.OrtOutput(file.Path, "input", x);

        var watch = Stopwatch.StartNew();
        using OnnxModel model = OnnxModel.Load(file.Path);
        double loadMs = watch.Elapsed.TotalMilliseconds;
        Assert.Equal(opset, model.Opset);
        Assert.Equal([-1, .. shape[1..]], model.Inputs.Single().Shape);
        Assert.Equal("output", model.Outputs.Single().Name);
        if (arch is "lenet5" or "pad_conv")
            Assert.Equal(file.ParamCount, model.ParameterCount());

        watch.Restart();
        using Tensor y = model.Forward(x);
        output.WriteLine($"{arch} opset {opset}: ops [{string.Join(", ", file.OpTypes)}], " +
                         $"load {loadMs:0} ms, forward {watch.Elapsed.TotalMilliseconds:0} ms");
        OracleErrors.AssertClose(output, "onnx." + arch, Cnn.Isa, $"opset{opset}", y, expected, Normwise(expected));
    }

    public static TheoryData<string, CnnIsa> IsaRows() => Isas.Cross(["lenet5", "concat_clip", "pad_conv", "gated"]);

    [Theory]
    [MemberData(nameof(IsaRows))]
    public void Torch_exported_model_matches_onnx_runtime_on_every_isa(string arch, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int[] shape = InputShape(arch);
        OnnxExport file = OnnxFixtures.Export(Job(arch, 13), AllJobs());
        using Tensor x = TestData.NormalTensor(Seeds.Of(arch + "-isa-input"), [3, .. shape[1..]]);
        OracleTensor expected = OnnxFixtures.OrtOutput(file.Path, "input", x);
        using OnnxModel model = OnnxModel.Load(file.Path);
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "onnx." + arch, isa, "opset13-batch3", y, expected, Normwise(expected));
    }

    public static TheoryData<string, int> GraphRows()
    {
        var rows = new TheoryData<string, int>();
        foreach (string graph in OnnxGraphs.Names)
        {
            rows.Add(graph, 11);
            rows.Add(graph, 13);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(GraphRows))]
    public void Hand_made_graph_matches_onnx_runtime(string graph, int opset) => CheckGraph(graph, opset, $"opset{opset}");

    /// <summary>The broadcast, explicit-padding pool and transA paths on every ISA (their pool and GEMM kernels differ per ISA).</summary>
    public static TheoryData<string, CnnIsa> IsaGraphRows() =>
        Isas.Cross(["broadcast", "maxpool_asym", "maxpool_asym_dilated_ceil", "avgpool_asym_exclude", "avgpool_asym_ceil", "gemm_scaled", "gemm_trans_a"]);

    [Theory]
    [MemberData(nameof(IsaGraphRows))]
    public void Hand_made_graph_matches_onnx_runtime_on_every_isa(string graph, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        CheckGraph(graph, 13, "opset13-" + isa);
    }

    private void CheckGraph(string graph, int opset, string label)
    {
        (string path, int[] shape) = OnnxGraphs.Write(graph, opset, Seeds.Of(graph) % 1000);
        using Tensor x = TestData.NormalTensor(Seeds.Of(graph + "-x"), shape);
        OracleTensor expected = OnnxFixtures.OrtOutput(path, "x", x);

        using OnnxModel model = OnnxModel.Load(path);
        File.Delete(path);
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "onnx.graph." + graph, Cnn.Isa, label, y, expected, Normwise(expected));
    }

    [Fact]
    public void Initializers_are_the_state_dict_and_run_at_any_batch()
    {
        OnnxExport file = OnnxFixtures.Export(new OnnxExportJob("lenet5", 13, [1, 1, 28, 28], 10, 7), AllJobs());
        using Tensor x = TestData.NormalTensor(Seeds.Of("lenet5-batch5"), 5, 1, 28, 28);
        OracleTensor expected = OnnxFixtures.OrtOutput(file.Path, "input", x);
        using OnnxModel model = OnnxModel.Load(file.Path);

        Assert.Equal(
            ["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"],
            model.StateDict().Select(e => e.Key).Order(StringComparer.Ordinal));
        using Tensor y = model.Forward(x);
        OracleErrors.AssertClose(output, "onnx.lenet5", Cnn.Isa, "batch5", y, expected, Normwise(expected));

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
