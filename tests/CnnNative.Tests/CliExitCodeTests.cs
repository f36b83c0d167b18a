using System.Buffers.Binary;
using System.Text;
using CnnNative.Onnx.Proto;
using CnnNative.Tests.Infrastructure;
using CnnNative.Tests.Onnx;
using Google.Protobuf;

namespace CnnNative.Tests;

/// <summary>
/// The <c>cnn</c> tool (run as a process) on bad user input: exit code 2 and one clear line, never 1 ("internal
/// error", which the tool calls a bug). Every case here is from the outside audit of issue 14 and exited 1, or
/// printed a garbled message, before its fix. None of them reaches the oracle: each fails before torch is asked.
/// </summary>
public sealed class CliExitCodeTests(ITestOutputHelper output)
{
    private string Scratch(string stem, string extension) => TestPaths.NewScratchFile(stem, extension);

    /// <summary>Runs cnn, requires exit code 2, and returns stderr's first line.</summary>
    private string UsageError(params string[] args)
    {
        (int code, _, string stderr) = CliRunner.Run(output, args, TimeSpan.FromMinutes(2));
        Assert.True(code == 2, $"exit code {code}, expected 2; stderr:\n{stderr}");
        Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
        return stderr.Split('\n')[0];
    }

    private string Safetensors(string json, int dataBytes)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        byte[] file = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        string path = Scratch("weights", ".safetensors");
        File.WriteAllBytes(path, file);
        return path;
    }

    private string Onnx(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        string path = Scratch(graph.Name, ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    /// <summary>One node from x to y.</summary>
    private string OneNode(string name, long[] inputShape, NodeProto node, params TensorProto[] initializers)
    {
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxFiles.Value("x", inputShape));
        graph.Output.Add(OnnxFiles.Value("y", inputShape));
        graph.Initializer.AddRange(initializers);
        graph.Node.Add(node);
        return Onnx(graph);
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    [Fact]
    public void Verify_weights_with_an_unsupported_dtype_or_an_empty_tensor_is_a_usage_error()
    {
        string u8 = Safetensors("{\"conv1.weight\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2);
        Assert.Equal($"cnn: error: cannot load the weights into lenet5: Safetensors file '{u8}': tensor 'conv1.weight' has dtype 'U8'; only F32, F64, F16, BF16 and I64 can be loaded (as float32).",
            UsageError("verify", "--weights", u8, "--model", "lenet5"));
        string empty = Safetensors("{\"conv1.weight\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0]}}", 0);
        Assert.Equal($"cnn: error: cannot load the weights into lenet5: Safetensors file '{empty}': tensor 'conv1.weight' has shape [0] with no elements; empty tensors are not supported.",
            UsageError("verify", "--weights", empty, "--model", "lenet5"));
    }

    [Fact]
    public void Eval_of_weights_that_do_not_fit_names_the_file_once()
    {
        // 256 MiB of F16 (sparse) under a LeNet-5 key: rejected from the header, before the data is read.
        long bytes = 16384L * 8192 * 2;
        string json = $"{{\"conv1.weight\": {{\"dtype\": \"F16\", \"shape\": [16384, 8192], \"data_offsets\": [0, {bytes}]}}}}";
        string path = Safetensors(json, 0);
        using (var fs = new FileStream(path, FileMode.Open))
            fs.SetLength(fs.Length + bytes);
        string line = UsageError("eval", "-m", "lenet5", "-w", path, "--raw");
        Assert.Equal($"cnn: error: cannot load lenet5 weights: Safetensors file '{path}' does not fit LeNet5: Error(s) in loading state dict for LeNet5 (10 problems; nothing was loaded):", line);
    }

    [Fact]
    public void Verify_onnx_whose_run_fails_on_the_input_is_a_usage_error()
    {
        string reshape = OneNode("reshape", [1, 6], OnnxFiles.Node("Reshape", "r", ["x", "shape"], ["y"]),
            new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, Int64Data = { 4, 4 } });
        Assert.StartsWith("cnn: error: the model cannot run on the input (x [1, 6]): ONNX node 'r' (Reshape): ",
            UsageError("verify", "--onnx", reshape), StringComparison.Ordinal);

        string softmax = OneNode("softmax", [1, 4], OnnxFiles.Node("Softmax", "sm", ["x"], ["y"], Int("axis", 7)));
        Assert.Equal("cnn: error: the model cannot run on the input (x [1, 4]): ONNX node 'sm' (Softmax): axis 7 is out of range for a rank-2 input.",
            UsageError("verify", "--onnx", softmax));
    }

    [Fact]
    public void Onnx_conv_group_0_is_a_usage_error_at_load()
    {
        string path = OneNode("group0", [1, 2, 5, 5], OnnxFiles.Node("Conv", "conv", ["x", "w"], ["y"], Int("group", 0)),
            OnnxFiles.Floats("w", [3, 2, 3, 3], new float[54]));
        Assert.Equal($"cnn: error: ONNX file '{path}': ONNX node 'conv' (Conv): group 0 must be >= 1 and divide the weight's 3 output channels (weight [3, 2, 3, 3])",
            UsageError("verify", "--onnx", path));
        Assert.Equal($"cnn: error: ONNX file '{path}': ONNX node 'conv' (Conv): group 0 must be >= 1 and divide the weight's 3 output channels (weight [3, 2, 3, 3])",
            UsageError("inspect", path));
    }

    [Fact]
    public void Batch_normalization_of_a_rank_5_input_is_a_usage_error_in_inspect_and_verify()
    {
        TensorProto[] parameters = new[] { "scale", "bias", "mean", "var" }.Select(n => OnnxFiles.Floats(n, [2], [1, 1])).ToArray();
        string path = OneNode("bn5", [1, 2, 1, 1, 1], OnnxFiles.Node("BatchNormalization", "bn", ["x", "scale", "bias", "mean", "var"], ["y"]), parameters);
        const string Problem = "ONNX node 'bn' (BatchNormalization): BatchNormalization of a rank-5 input [1, 2, 1, 1, 1] is not supported (ranks 2 to 4).";
        Assert.Equal($"cnn: error: the model does not accept an input of shape [1, 2, 1, 1, 1]: {Problem}", UsageError("inspect", path));
        Assert.Equal($"cnn: error: the model cannot run on the input (x [1, 2, 1, 1, 1]): {Problem}", UsageError("verify", "--onnx", path));
    }

    [Fact]
    public void A_truncated_npy_header_is_a_usage_error()
    {
        string model = OneNode("relu", [1, 4], OnnxFiles.Node("Relu", "relu", ["x"], ["y"]));
        string npy = Scratch("truncated", ".npy");
        File.WriteAllBytes(npy, [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0x10, 0]); // version 2: a 4-byte length
        Assert.Equal($"cnn: error: {npy}: the .npy header is truncated (10 bytes; the version 2 preamble alone is 12).",
            UsageError("verify", "--onnx", model, "--input", npy));
    }

    [Theory]
    [InlineData("{\"model\": \"lenet5\", \"normalization_mean\": 0.3, \"normalization_std\": 0}", "\"normalization_std\" is 0; it must be a finite number > 0")]
    [InlineData("{\"model\": \"lenet5\", \"normalization_mean\": 0.3, \"normalization_std\": -1}", "\"normalization_std\" is -1; it must be a finite number > 0")]
    [InlineData("{\"model\": null, \"normalization_mean\": 0.3, \"normalization_std\": 0.35}", "\"model\" is missing or empty")]
    [InlineData("{\"model\": \"lenet5\"}", "\"normalization_std\" is 0; it must be a finite number > 0")]
    [InlineData("null", "it holds null, not a model card object")]
    public void A_model_card_that_cannot_be_used_is_a_usage_error(string json, string problem)
    {
        string weights = Scratch("card", ".safetensors");
        File.WriteAllText(weights, "not read: the card is checked first");
        string card = Path.ChangeExtension(weights, ".json");
        File.WriteAllText(card, json);
        Assert.Equal($"cnn: error: model card {card}: {problem} (delete it, or write it again with 'cnn train').",
            UsageError("eval", "-m", "lenet5", "-w", weights));
    }

    [Fact]
    public void A_model_card_mean_beyond_float_is_a_usage_error()
    {
        string weights = Scratch("card", ".safetensors");
        File.WriteAllText(weights, "not read: the card is checked first");
        string card = Path.ChangeExtension(weights, ".json");
        File.WriteAllText(card, "{\"model\": \"lenet5\", \"normalization_mean\": 1e39, \"normalization_std\": 0.35}");
        string line = UsageError("eval", "-m", "lenet5", "-w", weights);
        Assert.True(line.StartsWith($"cnn: error: cannot read {card}: ", StringComparison.Ordinal)
                    || line.StartsWith($"cnn: error: model card {card}: \"normalization_mean\" is ", StringComparison.Ordinal), line);
    }

    [Fact]
    public void Declared_shapes_over_the_tensor_bound_are_usage_errors_before_allocation()
    {
        string path = OneNode("big", [1, 1, 46340, 46340], OnnxFiles.Node("Relu", "relu", ["x"], ["y"]));
        Assert.Equal($"cnn: error: ONNX file '{path}': graph input 'x': dims [1, 1, 46340, 46340] hold more than 268435456 elements (OnnxLoadOptions.MaxTensorElements)",
            UsageError("inspect", path));
        Assert.Equal($"cnn: error: ONNX file '{path}': graph input 'x': dims [1, 1, 46340, 46340] hold more than 1048576 elements (OnnxLoadOptions.MaxTensorElements)",
            UsageError("inspect", path, "--max-tensor-mib", "4"));
        Assert.Equal("cnn: error: the input shape [1, 1, 46340, 46340] holds 2,147,395,600 elements (8,191 MiB of float32), more than --max-tensor-mib 1024 allows.",
            UsageError("inspect", "lenet5", "--input-shape", "1,1,46340,46340"));
    }

    [Fact]
    public void An_unreadable_onnx_file_is_named_once()
    {
        string path = Scratch("garbage", ".onnx");
        File.WriteAllBytes(path, [0xff, 0xff, 0xff, 0xff]);
        string line = UsageError("inspect", path);
        Assert.StartsWith($"cnn: error: ONNX file '{path}': ", line, StringComparison.Ordinal);
        Assert.Equal(line.IndexOf(path, StringComparison.Ordinal), line.LastIndexOf(path, StringComparison.Ordinal));
    }
}
