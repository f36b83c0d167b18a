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
        model.Graph.Initializer[1].Dims.AddRange([1L << 20, 1L << 20, 1L << 20, 1L << 20]); // 2^80 elements (each dimension within the cap)
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

    // ------------------------------------------------------------------------------------------
    // Found by the outside audit (issue 14): each failed before its fix.
    // ------------------------------------------------------------------------------------------

    /// <summary>x [1] + Slice(data [5], starts, ends, axes [0], steps) folded at load.</summary>
    private static ModelProto SliceModel(long start, long end, long step)
    {
        var graph = new GraphProto { Name = "slice" };
        graph.Input.Add(OnnxFiles.Value("x", 1));
        graph.Output.Add(OnnxFiles.Value("y", 1));
        graph.Initializer.Add(OnnxFiles.Floats("data", [5], [10, 11, 12, 13, 14]));
        foreach ((string name, long value) in new[] { ("starts", start), ("ends", end), ("axes", 0L), ("steps", step) })
            graph.Initializer.Add(new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { value } });
        graph.Node.Add(OnnxFiles.Node("Slice", "slice", ["data", "starts", "ends", "axes", "steps"], ["picked"]));
        graph.Node.Add(OnnxFiles.Node("Add", "add", ["x", "picked"], ["y"]));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    [Theory]
    [InlineData(0L, long.MaxValue, long.MaxValue, 10f)]   // one step of 2^63 - 1 from the start: element 0 only
    [InlineData(2L, long.MaxValue, long.MaxValue, 12f)]
    [InlineData(-1L, long.MinValue, long.MinValue, 14f)]  // backwards from the last by -2^63: element 4 only
    [InlineData(4L, -6L, long.MinValue + 1, 14f)]
    public void Slice_steps_of_any_int64_fold_without_overflow(long start, long end, long step, float picked)
    {
        // ONNX allows any non-zero step; i += step used to overflow (IndexOutOfRangeException from Load).
        using OnnxModel model = OnnxFiles.Load(SliceModel(start, end, step));
        using Tensor x = Tensor.FromArray([0.5f], 1);
        using Tensor y = model.Forward(x);
        Assert.Equal([picked + 0.5f], y.ToArray());
    }

    [Fact]
    public void Slice_step_zero_and_a_repeated_axis_are_invalid_data_naming_the_node()
    {
        Assert.Equal("ONNX node 'slice' (Slice): a Slice step is 0",
            Rejects<InvalidDataException>(SliceModel(0, 5, 0), "Slice step is 0").Message);
    }

    [Fact]
    public void Conv_group_is_validated_at_load()
    {
        foreach (long group in new[] { 0L, -1L, 2L, 4L }) // w [3, 2, 3, 3]: 3 output channels; only 1 and 3 divide them
        {
            ModelProto model = OnnxFiles.ConvRelu();
            model.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = group });
            InvalidDataException e = Rejects<InvalidDataException>(model, $"group {group} must be >= 1");
            Assert.Equal($"ONNX node 'conv' (Conv): group {group} must be >= 1 and divide the weight's 3 output channels (weight [3, 2, 3, 3])", e.Message);
        }
    }

    [Fact]
    public void A_window_that_cannot_fit_or_wrong_channels_on_a_declared_input_fail_at_load()
    {
        ModelProto big = OnnxFiles.ConvRelu();
        big.Graph.Node[0].Attribute.Clear(); // no pads: the 3x3 kernel against a declared 2x2 input
        big.Graph.Input[0] = OnnxFiles.Value("x", -1, 2, 2, 2);
        Assert.Equal("ONNX node 'conv' (Conv): the window (kernel 3, dilation 1) spans 3 along spatial axis 0, more than the 2 of the graph input x [-1, 2, 2, 2] with pads 0 + 0",
            Rejects<InvalidDataException>(big, "spans 3").Message);

        ModelProto channels = OnnxFiles.ConvRelu();
        channels.Graph.Input[0] = OnnxFiles.Value("x", -1, 4, 5, 5);
        Assert.Equal("ONNX node 'conv' (Conv): the weight takes 2 input channels but the graph input x [-1, 4, 5, 5] has 4",
            Rejects<InvalidDataException>(channels, "input channels").Message);

        ModelProto pool = OnnxFiles.ConvRelu();
        pool.Graph.Node[1] = OnnxFiles.Node("MaxPool", "pool", ["c"], ["y"], OnnxFiles.Ints("kernel_shape", 9, 9));
        pool.Graph.Node.RemoveAt(0);
        pool.Graph.Node[0].Input[0] = "x";
        Rejects<InvalidDataException>(pool, "ONNX node 'pool' (MaxPool): the window (kernel 9, dilation 1) spans 9");
    }

    [Fact]
    public void A_declared_input_over_the_tensor_bound_is_rejected_at_load_and_the_bound_can_be_raised()
    {
        ModelProto model = OnnxFiles.ConvRelu();
        model.Graph.Input[0] = OnnxFiles.Value("x", 1, 2, 16384, 16384); // 2^29 elements: 2 GiB of float32
        Assert.Equal("graph input 'x': dims [1, 2, 16384, 16384] hold more than 268435456 elements (OnnxLoadOptions.MaxTensorElements)",
            Rejects<InvalidDataException>(model, "MaxTensorElements").Message);
        using OnnxModel raised = OnnxFiles.Load(model, new OnnxLoadOptions { MaxTensorElements = 1L << 29 });
        Assert.Equal([1, 2, 16384, 16384], raised.Inputs[0].Shape);
        Assert.Throws<ArgumentException>(() => OnnxFiles.Load(OnnxFiles.ConvRelu(), new OnnxLoadOptions { MaxFoldedElements = 0 }));
        Assert.Throws<ArgumentException>(() => OnnxFiles.Load(OnnxFiles.ConvRelu(), new OnnxLoadOptions { MaxFoldedElements = 1L << 31 }));
    }

    [Fact]
    public void Run_errors_name_the_node_once()
    {
        // Softmax over axis 7 of a rank-2 value: the step's message used to carry the node prefix that Run adds again.
        var graph = new GraphProto { Name = "softmax" };
        graph.Input.Add(OnnxFiles.Value("x", -1, 4));
        graph.Output.Add(OnnxFiles.Value("y", -1, 4));
        graph.Node.Add(OnnxFiles.Node("Softmax", "sm", ["x"], ["y"], new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 7 }));
        var proto = new ModelProto { IrVersion = 8, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        using OnnxModel model = OnnxFiles.Load(proto);
        using Tensor x = Tensor.Zeros(1, 4);
        Assert.Equal("ONNX node 'sm' (Softmax): axis 7 is out of range for a rank-2 input.", Assert.Throws<ArgumentException>(() => model.Forward(x)).Message);
    }

    [Fact]
    public void Batch_normalization_of_a_rank_5_input_is_an_argument_error()
    {
        var graph = new GraphProto { Name = "bn" };
        graph.Input.Add(OnnxFiles.Value("x", 1, 2, 1, 1, 1));
        graph.Output.Add(OnnxFiles.Value("y", 1, 2, 1, 1, 1));
        foreach (string name in new[] { "scale", "bias", "mean", "var" })
            graph.Initializer.Add(OnnxFiles.Floats(name, [2], [1, 1]));
        graph.Node.Add(OnnxFiles.Node("BatchNormalization", "bn", ["x", "scale", "bias", "mean", "var"], ["y"]));
        var proto = new ModelProto { IrVersion = 8, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        using OnnxModel model = OnnxFiles.Load(proto);
        using Tensor x = Tensor.Zeros(1, 2, 1, 1, 1);
        Assert.Equal("ONNX node 'bn' (BatchNormalization): BatchNormalization of a rank-5 input [1, 2, 1, 1, 1] is not supported (ranks 2 to 4).",
            Assert.Throws<ArgumentException>(() => model.Forward(x)).Message);
    }

    [Fact]
    public void Load_errors_name_the_file_once()
    {
        string path = TestPaths.NewScratchFile("nograph", ".onnx");
        File.WriteAllBytes(path, new ModelProto { IrVersion = 8 }.ToByteArray());
        Assert.Equal($"ONNX file '{path}': the ONNX file has no graph", Assert.Throws<InvalidDataException>(() => OnnxModel.Load(path)).Message);
        string missing = Path.Combine(TestPaths.ScratchDir, "missing.onnx");
        Assert.Equal($"ONNX file '{missing}' not found.", Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(missing)).Message);
    }
}
