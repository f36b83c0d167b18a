using CnnNative.Onnx.Proto;
using CnnNative.Tests.Infrastructure;
using Google.Protobuf;

namespace CnnNative.Tests.Onnx;

/// <summary>
/// Hand-made ONNX graphs for attributes torch never exports (auto_pad, asymmetric pads, Gemm alpha/beta/transA, ...),
/// built with the library's generated protobuf classes: in-process, no python, and ONNX Runtime (the reference) checks
/// each file when it loads it. Input "x" (dynamic batch), output "y"; weights seeded normal values times 0.3.
/// </summary>
internal static class OnnxGraphs
{
    /// <summary>Every graph by name.</summary>
    public static IReadOnlyList<string> Names => [.. s_graphs.Keys];

    private delegate (NodeProto[] Nodes, TensorProto[] Initializers, int[] InputShape) Builder(Func<string, long[], TensorProto> w);

    private static readonly Dictionary<string, Builder> s_graphs = new()
    {
        ["conv_same_upper"] = w => ConvAutoPad(w, "SAME_UPPER"),
        ["conv_same_lower"] = w => ConvAutoPad(w, "SAME_LOWER"),
        ["conv_valid"] = w => ConvAutoPad(w, "VALID"),
        ["conv_asym"] = w => (
            [
                N("Conv", ["x", "w"], ["c"], Ints("pads", 0, 2, 1, 1), Ints("dilations", 2, 1), Int("group", 3)),
                N("MaxPool", ["c"], ["p"], Ints("kernel_shape", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("strides", 2, 2)),
                N("Clip", ["p", "lo", "hi"], ["y"]),
            ],
            [w("w", [6, 1, 3, 3]), Const("lo", [], -0.2f), Const("hi", [], 0.3f)], [1, 3, 9, 8]),
        ["conv1d"] = w => (
            [N("Conv", ["x", "w", "b"], ["c"], Ints("pads", 1, 2), Ints("strides", 2)), N("Tanh", ["c"], ["y"])],
            [w("w", [4, 2, 3]), w("b", [4])], [2, 2, 11]),

        // Gemm transB=0, MatMul, Mul by a scalar, Add of a row vector, Softmax on axis 1 of 2-D.
        ["linear"] = w => (
            [
                N("Gemm", ["x", "w1", "b1"], ["h"], Int("transB", 0)), N("Relu", ["h"], ["r"]), N("MatMul", ["r", "w2"], ["m"]),
                N("Mul", ["m", "s"], ["ms"]), N("Add", ["ms", "b2"], ["a"]), N("Softmax", ["a"], ["y"], Int("axis", 1)),
            ],
            [w("w1", [6, 5]), w("b1", [5]), w("w2", [5, 4]), Const("s", [1], 1.5f), w("b2", [1, 4])], [3, 6]),

        // Softmax over axis 1 of a 4-D tensor: before opset 13 that is over the flattened C*H*W.
        ["softmax_axis"] = w => (
            [N("Reshape", ["x", "shape"], ["r"]), N("Softmax", ["r"], ["y"], Int("axis", 1))], [Int64s("shape", 0, 3, -1, 2)], [2, 3, 4, 2]),

        // Add / Mul with numpy broadcasting, x [N, 3, 4, 5]: per-channel constants [3, 1, 1] and [1, 3, 1, 1] (the constant
        // first), a scalar [], [N, 1, H, W] * [N, C, 1, 1] of two computed values, constants [1, 3, 1, 5] and [3, 4, 5], and
        // [N, C, H, W] + [N, C, 1, 1] computed, with a Relu after it.
        ["broadcast"] = w => (
            [
                N("Add", ["x", "c_chw"], ["a"]), N("Mul", ["c_1c11", "a"], ["b"]), N("Add", ["b", "s"], ["c"]),
                N("Conv", ["x", "w1"], ["g1"]), N("GlobalAveragePool", ["x"], ["g2"]), N("Mul", ["g1", "g2"], ["m"]),
                N("Add", ["c", "m"], ["e"]), N("Mul", ["e", "c_1c1w"], ["f"]), N("Add", ["f", "c_chw2"], ["h"]),
                N("Add", ["h", "g2"], ["r"]), N("Relu", ["r"], ["y"]),
            ],
            [w("c_chw", [3, 1, 1]), w("c_1c11", [1, 3, 1, 1]), Const("s", [], 0.75f), w("w1", [1, 3, 1, 1]), w("c_1c1w", [1, 3, 1, 5]), w("c_chw2", [3, 4, 5])],
            [2, 3, 4, 5]),

        ["maxpool_asym"] = _ => Pool("MaxPool", [2, 3, 7, 8], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 0, 0, 1, 1)),
        ["maxpool_asym_dilated_ceil"] = _ => Pool("MaxPool", [2, 2, 9, 8], Ints("kernel_shape", 2, 3), Ints("strides", 2, 2),
            Ints("dilations", 2, 1), Ints("pads", 1, 0, 0, 1), Int("ceil_mode", 1)),
        ["maxpool_same_upper"] = _ => Pool("MaxPool", [1, 3, 6, 7], Ints("kernel_shape", 2, 2), Ints("strides", 1, 1), Str("auto_pad", "SAME_UPPER")),
        ["avgpool_asym_exclude"] = _ => Pool("AveragePool", [2, 3, 7, 8], Ints("kernel_shape", 2, 3), Ints("strides", 2, 2), Ints("pads", 1, 0, 0, 2)),
        ["avgpool_asym_include"] = _ => Pool("AveragePool", [2, 3, 7, 8], Ints("kernel_shape", 3, 2), Ints("strides", 1, 2), Ints("pads", 0, 1, 2, 1),
            Int("count_include_pad", 1)),
        ["avgpool_asym_ceil"] = _ => Pool("AveragePool", [1, 2, 8, 9], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 0, 1, 1, 0),
            Int("ceil_mode", 1), Int("count_include_pad", 1)),
        ["avgpool_wide_pads"] = _ => Pool("AveragePool", [1, 2, 6, 6], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 2, 2, 2, 2)),
        ["avgpool_same_lower"] = _ => Pool("AveragePool", [2, 2, 6, 7], Ints("kernel_shape", 4, 3), Ints("strides", 2, 2), Str("auto_pad", "SAME_LOWER")),
        ["avgpool1d_asym"] = _ => Pool("AveragePool", [2, 3, 11], Ints("kernel_shape", 4), Ints("strides", 3), Ints("pads", 2, 0)),

        // A zero Pad (its zeros are data, counted) folded into an AveragePool with pads of its own that count_include_pad=0 excludes.
        ["pad_avgpool_mixed"] = _ => (
            [
                N("Pad", ["x", "pads"], ["p"]),
                N("AveragePool", ["p"], ["y"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 0, 0, 1)),
            ],
            [Int64s("pads", 0, 0, 0, 1, 0, 0, 2, 0)], [2, 2, 7, 6]),

        // Gemm alpha 0.5, beta 2 with C [5]; Relu; Gemm transB=1, alpha 1.5, beta -0.5 with C [M, 1]; Gemm beta 0.25 with C [M, N] (M = 3).
        ["gemm_scaled"] = w => (
            [
                N("Gemm", ["x", "w1", "c1"], ["h"], Float("alpha", 0.5f), Float("beta", 2)), N("Relu", ["h"], ["r"]),
                N("Gemm", ["r", "w2", "c2"], ["g"], Int("transB", 1), Float("alpha", 1.5f), Float("beta", -0.5f)),
                N("Gemm", ["g", "w3", "c3"], ["y"], Float("beta", 0.25f)),
            ],
            [w("w1", [6, 5]), w("c1", [5]), w("w2", [4, 5]), w("c2", [3, 1]), w("w3", [4, 2]), w("c3", [3, 2])], [3, 6]),

        // Gemm transA=1 (x [K=6, M=3]) with alpha 2 and C [1, 5]; Tanh; Gemm transA=1, transB=1 with beta 0.5 and a scalar C;
        // Gemm transA=1 without C.
        ["gemm_trans_a"] = w => (
            [
                N("Gemm", ["x", "w1", "c1"], ["h"], Int("transA", 1), Float("alpha", 2)), N("Tanh", ["h"], ["t"]),
                N("Gemm", ["t", "w2", "c2"], ["g"], Int("transA", 1), Int("transB", 1), Float("beta", 0.5f)),
                N("Gemm", ["g", "w3"], ["y"], Int("transA", 1)),
            ],
            [w("w1", [6, 5]), w("c1", [1, 5]), w("w2", [4, 3]), Const("c2", [], 0.3f), w("w3", [5, 2])], [6, 3]),
    };

    /// <summary>Writes graph <paramref name="name"/> at <paramref name="opset"/> to a scratch file; returns its path and the input shape.</summary>
    public static (string Path, int[] InputShape) Write(string name, int opset, int seed)
    {
        if (!s_graphs.TryGetValue(name, out Builder? build))
            throw new ArgumentException($"unknown graph '{name}' (have: {string.Join(", ", s_graphs.Keys)})", nameof(name));
        int next = seed;
        (NodeProto[] nodes, TensorProto[] initializers, int[] shape) = build((n, dims) =>
            OnnxFiles.Floats(n, dims, TestData.Normal(next++, dims.Aggregate(1L, (a, d) => a * d), 0.3)));
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxFiles.Value("x", [-1, .. shape[1..].Select(d => (long)d)]));
        // The output's rank (every graph here keeps the input's); its sizes are left to the runtimes' shape inference.
        var outputShape = new TensorShapeProto();
        outputShape.Dim.AddRange(shape.Select(_ => new TensorShapeProto.Types.Dimension()));
        graph.Output.Add(new ValueInfoProto
        {
            Name = "y",
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = outputShape } },
        });
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers);
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "OnnxGraphs" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        string path = TestPaths.NewScratchFile($"{name}-opset{opset}", ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return (path, shape);
    }

    private static (NodeProto[], TensorProto[], int[]) ConvAutoPad(Func<string, long[], TensorProto> w, string mode) => (
        [N("Conv", ["x", "w", "b"], ["c"], Str("auto_pad", mode), Ints("strides", 2, 1), Ints("kernel_shape", 3, 4)), N("Relu", ["c"], ["y"])],
        [w("w", [5, 3, 3, 4]), w("b", [5])], [2, 3, 7, 9]);

    /// <summary>One MaxPool / AveragePool of x.</summary>
    private static (NodeProto[], TensorProto[], int[]) Pool(string op, int[] shape, params AttributeProto[] attributes) =>
        ([N(op, ["x"], ["y"], attributes)], [], shape);

    private static int s_nodes;

    private static NodeProto N(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes) =>
        OnnxFiles.Node(op, $"{op.ToLowerInvariant()}_{Interlocked.Increment(ref s_nodes)}", inputs, outputs, attributes);

    private static AttributeProto Ints(string name, params long[] values) => OnnxFiles.Ints(name, values);

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static TensorProto Const(string name, long[] dims, float value) => OnnxFiles.Floats(name, dims, [value]);

    private static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }
}
