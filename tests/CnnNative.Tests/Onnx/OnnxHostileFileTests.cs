using CnnNative.Onnx;
using CnnNative.Onnx.Proto;
using CnnNative.Tests.Infrastructure;
using Google.Protobuf;

namespace CnnNative.Tests.Onnx;

/// <summary>
/// Hostile and malformed ONNX files: <see cref="OnnxModel.Load(Stream, OnnxLoadOptions?)"/> lets only
/// InvalidDataException (malformed), NotSupportedException (valid, unsupported), ArgumentException (bad
/// options) and IOException (file errors) escape, with a message naming the problem; never a crash, an
/// out-of-memory or a hang.
/// </summary>
public sealed class OnnxHostileFileTests(ITestOutputHelper output)
{
    private static Exception? LoadError(byte[] bytes, OnnxLoadOptions? options = null)
    {
        try
        {
            using OnnxModel model = OnnxModel.Load(new MemoryStream(bytes), options);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            return e;
        }
    }

    private static T Rejects<T>(ModelProto model, string fragment, OnnxLoadOptions? options = null)
        where T : Exception
    {
        T e = Assert.Throws<T>(() => OnnxFiles.Load(model, options));
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void The_base_model_loads_and_runs()
    {
        using OnnxModel model = OnnxFiles.Load(OnnxFiles.ConvRelu());
        Assert.Equal([-1, 2, 5, 5], model.Inputs[0].Shape);
        using Tensor x = TestData.NormalTensor(3, 2, 2, 5, 5);
        using Tensor y = model.Forward(x);
        Assert.Equal([2, 3, 5, 5], y.Shape);
        Assert.All(y.ToArray(), v => Assert.True(v >= 0));
        Assert.Equal(57, model.ParameterCount());
    }

    [Fact]
    public void Every_truncation_is_invalid_data()
    {
        byte[] bytes = OnnxFiles.Bytes(OnnxFiles.ConvRelu());
        int cuts = 0;
        for (int length = 0; length < bytes.Length; length += Math.Max(1, bytes.Length / 300))
        {
            Exception? e = LoadError(bytes[..length]);
            Assert.True(e is InvalidDataException, $"cut at {length} of {bytes.Length}: {e?.GetType().Name ?? "loaded"}: {e?.Message}");
            cuts++;
        }

        output.WriteLine($"{cuts} truncations of a {bytes.Length}-byte model, all InvalidDataException");
    }

    [Fact]
    public void Random_byte_flips_never_escape_as_other_exceptions()
    {
        byte[] original = OnnxFiles.Bytes(OnnxFiles.ConvRelu());
        var rng = new Random(20261122);
        int loaded = 0, invalid = 0, unsupported = 0;
        for (int variant = 0; variant < 400; variant++)
        {
            byte[] bytes = (byte[])original.Clone();
            int flips = 1 + rng.Next(3);
            for (int f = 0; f < flips; f++)
                bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
            try
            {
                using OnnxModel model = OnnxModel.Load(new MemoryStream(bytes));
                loaded++;
            }
            catch (InvalidDataException)
            {
                invalid++;
            }
            catch (NotSupportedException)
            {
                unsupported++;
            }
        }

        output.WriteLine($"400 variants: {loaded} loaded, {invalid} InvalidDataException, {unsupported} NotSupportedException");
        Assert.True(invalid > 0 && loaded + invalid + unsupported == 400);
    }

    [Theory]
    [InlineData(-1L, "must be >= 0")]
    [InlineData(1L << 40, "more than the limit")]
    public void Bad_initializer_dims_are_invalid_data(long dim, string fragment)
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Initializer[1].Dims[0] = dim;
        Rejects<InvalidDataException>(model, fragment);
    }

    [Fact]
    public void Dims_whose_product_overflows_or_exceeds_the_cap_are_invalid_data()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Initializer[1].Dims.Clear();
        model.Graph.Initializer[1].Dims.AddRange([1L << 30, 1L << 30, 1L << 30, 1L << 30]); // 2^120 elements
        Rejects<InvalidDataException>(model, "hold more than");

        // A model within the default cap, over a lowered one.
        Rejects<InvalidDataException>(OnnxFiles.ConvRelu(), "MaxTensorElements", new OnnxLoadOptions { MaxTensorElements = 50 });
    }

    [Fact]
    public void Raw_data_of_the_wrong_length_is_invalid_data()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Initializer[1].RawData = ByteString.CopyFrom(new byte[8]);
        Rejects<InvalidDataException>(model, "raw_data has 8 bytes; its dims need 3 x 4 = 12");
    }

    [Fact]
    public void External_data_is_refused_without_opening_the_path()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        TensorProto w = model.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "../../../etc/shadow" });
        NotSupportedException e = Rejects<NotSupportedException>(model, "external file ('../../../etc/shadow')");
        Assert.Contains("never opened", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_data_types_are_named()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Initializer[1].DataType = (int)TensorProto.Types.DataType.Double;
        Rejects<NotSupportedException>(model, "data type DOUBLE");
    }

    [Fact]
    public void Cycles_and_undefined_inputs_are_invalid_data()
    {
        ModelProto cycle = OnnxFiles.ConvRelu();
        cycle.Graph.Node[0].Input[0] = "y"; // conv reads relu's output, relu reads conv's
        Rejects<InvalidDataException>(cycle, "cycle");

        ModelProto undefined = OnnxFiles.ConvRelu();
        undefined.Graph.Node[1].Input[0] = "nowhere";
        Rejects<InvalidDataException>(undefined, "reads 'nowhere', which no node");
    }

    [Fact]
    public void Duplicate_outputs_are_invalid_data()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Node.Add(OnnxFiles.Node("Relu", "again", ["c"], ["y"]));
        Rejects<InvalidDataException>(model, "'y' is produced twice");

        ModelProto shadow = OnnxFiles.ConvRelu();
        shadow.Graph.Node[1].Output[0] = "w";
        Rejects<InvalidDataException>(shadow, "already a graph input or initializer");
    }

    [Fact]
    public void The_file_size_cap_and_bad_options()
    {
        byte[] bytes = OnnxFiles.Bytes(OnnxFiles.ConvRelu());
        Exception? e = LoadError(bytes, new OnnxLoadOptions { MaxFileBytes = 100 });
        Assert.IsType<InvalidDataException>(e);
        Assert.Contains("MaxFileBytes", e.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => OnnxModel.Load(new MemoryStream(bytes), new OnnxLoadOptions { MaxFileBytes = 0 }));
        Assert.Throws<ArgumentException>(() => OnnxModel.Load(new MemoryStream(bytes), new OnnxLoadOptions { RecursionLimit = 0 }));
        Assert.ThrowsAny<IOException>(() => OnnxModel.Load(Path.Combine(TestPaths.ScratchDir, "missing.onnx")));
    }

    [Fact]
    public void Deep_nesting_hits_the_recursion_limit()
    {
        // Graphs nested in graph attributes, 300 deep: the protobuf parser stops at RecursionLimit (100).
        var inner = new GraphProto { Name = "leaf" };
        for (int i = 0; i < 300; i++)
        {
            var node = OnnxFiles.Node("If", "if" + i, [], ["o"]);
            node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = inner });
            inner = new GraphProto { Name = "g" + i };
            inner.Node.Add(node);
        }

        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "deep", Type = AttributeProto.Types.AttributeType.Graph, G = inner });
        Rejects<InvalidDataException>(model, "malformed");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(18)]
    public void Opsets_outside_11_to_17_are_named(int opset) =>
        Rejects<NotSupportedException>(OnnxFiles.ConvRelu(opset), $"opset {opset} of the default domain");

    [Fact]
    public void Other_domains_are_named()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        model.Graph.Node[1].Domain = "com.microsoft";
        Rejects<NotSupportedException>(model, "domain 'com.microsoft'");
    }

    [Fact]
    public void Unsupported_operators_and_attributes_name_the_node()
    {
        ModelProto op = OnnxFiles.ConvRelu();
        op.Graph.Node[1].OpType = "LeakyRelu";
        NotSupportedException e = Rejects<NotSupportedException>(op, "node 'relu' (LeakyRelu): operator 'LeakyRelu' is not supported");
        output.WriteLine(e.Message);

        ModelProto attribute = OnnxFiles.ConvRelu();
        attribute.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "frobnicate", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        e = Rejects<NotSupportedException>(attribute, "node 'conv' (Conv): attribute 'frobnicate' is not supported");
        output.WriteLine(e.Message);
    }

    [Fact]
    public void Reshape_of_a_constant_with_allowzero_and_a_zero_is_named()
    {
        // allowzero = 1 turns a 0 in the shape into an empty dimension; folding it as "copy" would be wrong numbers.
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Initializer.Add(OnnxFiles.Floats("k", [2, 3], [1, 2, 3, 4, 5, 6]));
        var shape = new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.AddRange([0, 6]);
        model.Graph.Initializer.Add(shape);
        var allowZero = new AttributeProto { Name = "allowzero", Type = AttributeProto.Types.AttributeType.Int, I = 1 };
        model.Graph.Node.Add(OnnxFiles.Node("Reshape", "reshape", ["k", "shape"], ["kr"], allowZero));
        Rejects<NotSupportedException>(model, "node 'reshape' (Reshape): allowzero=1 with a 0 in the shape");
    }

    [Fact]
    public void Broadcasting_two_computed_values_works_and_incompatible_shapes_name_both()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Input.Add(OnnxFiles.Value("z", -1, -1, 1, 1));
        model.Graph.Node[1].OpType = "Add";
        model.Graph.Node[1].Input.Add("z");
        using OnnxModel m = OnnxFiles.Load(model);
        using Tensor x = TestData.NormalTensor(5, 2, 2, 5, 5);
        using Tensor z = TestData.NormalTensor(6, 2, 3, 1, 1);
        using Tensor y = m.Run(new Dictionary<string, Tensor> { ["x"] = x, ["z"] = z })["y"];
        using OnnxModel plain = OnnxFiles.Load(OnnxFiles.ConvRelu());
        using Tensor conv = plain.Forward(x); // relu(conv): equal to conv where positive; check those elements
        float[] got = y.ToArray(), c = conv.ToArray(), zs = z.ToArray();
        Assert.Equal([2, 3, 5, 5], y.Shape);
        for (int i = 0; i < got.Length; i++)
        {
            if (c[i] > 0)
                Assert.Equal(c[i] + zs[i / 25], got[i]);
        }

        using Tensor x1 = Tensor.Zeros(1, 2, 5, 5);
        using Tensor bad = Tensor.Zeros(1, 2, 1, 1);
        ArgumentException e = Assert.Throws<ArgumentException>(() => m.Run(new Dictionary<string, Tensor> { ["x"] = x1, ["z"] = bad }));
        Assert.Contains("node 'relu' (Add)", e.Message, StringComparison.Ordinal);
        Assert.Contains("shapes [1, 3, 5, 5] and [1, 2, 1, 1] cannot be broadcast together", e.Message, StringComparison.Ordinal);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void Wrong_input_shapes_are_argument_errors()
    {
        using OnnxModel model = OnnxFiles.Load(OnnxFiles.ConvRelu());
        using Tensor x = Tensor.Zeros(1, 3, 5, 5);
        ArgumentException e = Assert.Throws<ArgumentException>(() => model.Forward(x));
        Assert.Contains("x [-1, 2, 5, 5]", e.Message, StringComparison.Ordinal);
    }
}
