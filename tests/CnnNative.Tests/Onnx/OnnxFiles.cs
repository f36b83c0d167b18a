using CnnNative.Onnx;
using CnnNative.Onnx.Proto;
using Google.Protobuf;

namespace CnnNative.Tests.Onnx;

/// <summary>Builds small ONNX models with the generated protobuf classes (for the hostile-file tests).</summary>
internal static class OnnxFiles
{
    /// <summary>x [N, 2, 5, 5] -> Conv(w [3, 2, 3, 3], b [3], pads 1) -> Relu -> y.</summary>
    public static ModelProto ConvRelu(int opset = 13)
    {
        var graph = new GraphProto { Name = "conv_relu" };
        graph.Input.Add(Value("x", -1, 2, 5, 5));
        graph.Output.Add(Value("y", -1, 3, 5, 5));
        graph.Initializer.Add(Floats("w", [3, 2, 3, 3], Enumerable.Range(0, 54).Select(i => (i % 7) * 0.1f - 0.3f).ToArray()));
        graph.Initializer.Add(Floats("b", [3], [0.1f, -0.2f, 0.3f]));
        graph.Node.Add(Node("Conv", "conv", ["x", "w", "b"], ["c"], Ints("pads", 1, 1, 1, 1)));
        graph.Node.Add(Node("Relu", "relu", ["c"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "OnnxFiles" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "batch" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    public static TensorProto Floats(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());
        return t;
    }

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static byte[] Bytes(ModelProto model) => model.ToByteArray();

    public static OnnxModel Load(ModelProto model, OnnxLoadOptions? options = null) =>
        OnnxModel.Load(new MemoryStream(model.ToByteArray()), options);
}
