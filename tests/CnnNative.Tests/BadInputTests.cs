using System.Buffers.Binary;
using System.Text;
using CnnNative.Interop;
using CnnNative.IO;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>
/// Every validation path, from C#: the exception type and a message check. Nothing here needs the
/// oracle; the process survives every rejected call (the next call still works).
/// </summary>
public sealed class BadInputTests(ITestOutputHelper output)
{
    private static T Throws<T>(Action action, params string[] fragments)
        where T : Exception
    {
        // Assert.ThrowsAny: ArgumentNullException / ArgumentOutOfRangeException are ArgumentExceptions.
        T e = Assert.ThrowsAny<T>(action);
        foreach (string f in fragments)
        {
            Assert.True(e.Message.Contains(f, StringComparison.Ordinal), $"{typeof(T).Name} message \"{e.Message}\" does not contain \"{f}\"");
        }

        return e;
    }

    private void Log(Exception e) => output.WriteLine($"{e.GetType().Name}: {e.Message}");

    private static Conv2dOptions Conv(int stride = 1, int pad = 0, int dilation = 1, int groups = 1) => new()
    {
        Stride = (stride, stride),
        Padding = Padding2d.Symmetric(pad),
        Dilation = (dilation, dilation),
        Groups = groups,
    };

    /// <summary>After a rejected call, a valid call on the same thread still works.</summary>
    private static void AssertStillWorks()
    {
        using Tensor a = Tensor.FromArray([1f, -2f, 3f], 3);
        using Tensor r = Functional.Relu(a);
        Assert.Equal([1f, 0f, 3f], r.ToArray());
    }

    // ------------------------------------------------------------------------------------ conv2d

    [Fact]
    public void Conv2d_groups_must_divide_channels_and_be_positive()
    {
        using Tensor x = Tensor.Zeros(1, 6, 5, 5);
        using Tensor w = Tensor.Zeros(4, 3, 3, 3);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(groups: 4)), "groups = 4 must divide in_channels = 6"));
        using Tensor w2 = Tensor.Zeros(6, 2, 3, 3);
        using Tensor x2 = Tensor.Zeros(1, 4, 5, 5);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x2, w2, null, Conv(groups: 4)), "groups = 4 must divide out_channels = 6"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(groups: 0)), "groups", "out of range"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(groups: -2)), "groups", "-2"));
        // groups divides, but the weight's in-channels do not match in_channels / groups (C#-side check).
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(groups: 1)), "weight has shape [4, 3, 3, 3]", "[4, 6, 3, 3]"));
        Log(Throws<ArgumentException>(() => new Nn.Conv2d(6, 4, 3, groups: 4), "divisible by groups"));
        AssertStillWorks();
    }

    [Fact]
    public void Conv2d_zero_or_negative_stride_dilation_and_negative_padding()
    {
        using Tensor x = Tensor.Zeros(1, 3, 8, 8);
        using Tensor w = Tensor.Zeros(4, 3, 3, 3);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(stride: 0)), "stride_height = 0", "out of range"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, new Conv2dOptions { Stride = (1, -3) }), "stride_width = -3"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(dilation: 0)), "dilation_height = 0"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, new Conv2dOptions { Padding = new Padding2d(0, 0, -1, 0) }), "pad_left = -1"));
        AssertStillWorks();
    }

    [Fact]
    public void Conv2d_output_size_below_one_and_overflowing_sizes()
    {
        using Tensor x = Tensor.Zeros(1, 3, 3, 3);
        using Tensor w = Tensor.Zeros(4, 3, 5, 5);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv()), "output height would be < 1"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, new Conv2dOptions { Padding = new Padding2d(1, 1, 0, 0), Dilation = (1, 1) }), "would be < 1"));

        // Padding so large that the output size no longer fits int32, or the output element count overflows.
        using Tensor w1 = Tensor.Zeros(4, 3, 1, 1);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w1, null, new Conv2dOptions { Padding = new Padding2d(int.MaxValue / 2, int.MaxValue / 2, 0, 0) }), "exceeds"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w1, null, new Conv2dOptions { Padding = Padding2d.Symmetric(1 << 29) }), "too large"));
        AssertStillWorks();
    }

    [Fact]
    public void Conv2d_wrong_ranks_bias_shape_nulls_and_aliasing()
    {
        using Tensor x = Tensor.Zeros(1, 3, 8, 8);
        using Tensor x3 = Tensor.Zeros(3, 8, 8);
        using Tensor w = Tensor.Zeros(3, 3, 1, 1);
        using Tensor w2 = Tensor.Zeros(3, 3);
        using Tensor badBias = Tensor.Zeros(4);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x3, w, null, Conv()), "input has shape [3, 8, 8]", "4-D"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w2, null, Conv()), "weight has shape [3, 3]"));
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, badBias, Conv()), "bias has shape [4]", "[3]"));
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => Functional.Conv2d(null!, w, null, Conv())).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentNullException>(() => Functional.Conv2d(x, null!, null, Conv())).ParamName);
        Assert.Throws<ArgumentNullException>(() => Functional.Conv2d(x, w, null, null!));

        // 1x1 conv C -> C keeps the shape: writing into the input itself must be refused.
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(), Activation.None, x), "shares storage with input"));
        using Tensor wrongOut = Tensor.Zeros(1, 3, 7, 7);
        Log(Throws<ArgumentException>(() => Functional.Conv2d(x, w, null, Conv(), Activation.None, wrongOut), "output has shape [1, 3, 7, 7]", "[1, 3, 8, 8]"));
        AssertStillWorks();
    }

    [Fact]
    public void Layer_constructors_reject_parameters_too_large_to_exist_as_argument_errors()
    {
        // The weight's element count used to overflow a checked int product (OverflowException), or to reach the allocator.
        Log(Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 6, int.MaxValue), "the Conv2d weight of shape [6, 1, 2147483647, 2147483647]", "at most 2147483647"));
        Log(Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 6, (70000, 70000)), "the Conv2d weight of shape [6, 1, 70000, 70000]"));
        Log(Throws<ArgumentOutOfRangeException>(() => new Conv1d(1, 6, int.MaxValue), "the Conv1d weight of shape [6, 1, 2147483647]"));
        Log(Throws<ArgumentOutOfRangeException>(() => new Linear(int.MaxValue, 2), "the Linear weight of shape [2, 2147483647]"));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(1, 6, int.MaxValue));
        Assert.Equal("kernelSize", e.ParamName);
        AssertStillWorks();
    }

    [Fact]
    public void Layers_with_extreme_sizes_fail_in_forward_as_argument_errors_not_overflows()
    {
        using Tensor x = Tensor.Zeros(1, 1, 4, 4);
        Module[] layers =
        [
            new MaxPool2d(int.MaxValue), new AvgPool2d(int.MaxValue), new MaxPool2d(3, stride: int.MaxValue, dilation: int.MaxValue),
            new AdaptiveAvgPool2d(int.MaxValue), new Conv2d(1, 1, 3, padding: int.MaxValue), new Conv2d(1, 1, 2, dilation: int.MaxValue),
        ];
        foreach (Module layer in layers)
        {
            using (layer)
            {
                Exception? e = Record.Exception(() => layer.Forward(x).Dispose());
                Assert.True(e is null or ArgumentException, $"{layer}: {e?.GetType().Name}: {e?.Message}");
                output.WriteLine($"{layer}: {e?.GetType().Name ?? "ran"}: {e?.Message}");
            }
        }

        AssertStillWorks();
    }

    // ------------------------------------------------------------------------------------ pooling

    [Fact]
    public void Pool2d_padding_too_large_stride_zero_output_below_one()
    {
        using Tensor x = Tensor.Zeros(1, 2, 6, 6);
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(3) { Padding = (2, 0) }), "pad_height = 2 must be at most half the kernel size"));
        Log(Throws<ArgumentException>(() => Functional.AvgPool2d(x, new Pool2dOptions(2) { Padding = (0, 2) }), "pad_width = 2"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(2) { Stride = (0, 1) }), "stride_height = 0"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(2) { Stride = (1, -1) }), "stride_width = -1"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(7)), "output height would be", "(< 1)"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(0)), "kernel_height = 0"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(3) { Dilation = (0, 1) }), "dilation_height = 0"));
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(2) { Padding = (-1, 0) }), "pad_height = -1"));
        AssertStillWorks();
    }

    [Fact]
    public void Pool2d_kind_specific_rules()
    {
        using Tensor x = Tensor.Zeros(1, 2, 6, 6);
        Log(Throws<ArgumentException>(() => Functional.AvgPool2d(x, new Pool2dOptions(2) { Dilation = (2, 2) }), "average pooling takes no dilation"));
        Log(Throws<ArgumentException>(() => Functional.LpPool2d(x, new Pool2dOptions(2) { Dilation = (2, 1) }), "LP pooling takes no dilation"));
        Log(Throws<ArgumentException>(() => Functional.LpPool2d(x, new Pool2dOptions(3) { Padding = (1, 1) }), "LP pooling takes no padding"));
        Log(Throws<ArgumentException>(() => Functional.LpPool2d(x, new Pool2dOptions(2) { NormType = 0f }), "norm_type", "finite and > 0"));
        Log(Throws<ArgumentException>(() => Functional.LpPool2d(x, new Pool2dOptions(2) { NormType = float.NaN }), "norm_type"));
        Log(Throws<ArgumentException>(() => Functional.LpPool2d(x, new Pool2dOptions(2) { NormType = float.PositiveInfinity }), "norm_type"));
        Log(Throws<ArgumentException>(() => Functional.AvgPool2d(x, new Pool2dOptions(2) { DivisorOverride = 0 }), "DivisorOverride must be > 0"));
        Log(Throws<ArgumentException>(() => Functional.AvgPool2d(x, new Pool2dOptions(2) { DivisorOverride = -4 }), "-4"));
        using Tensor x3 = Tensor.Zeros(2, 6, 6);
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x3, new Pool2dOptions(2)), "4-D"));
        Log(Throws<ArgumentException>(() => Functional.GlobalAvgPool2d(x3), "4-D"));
        Assert.Throws<ArgumentNullException>(() => Functional.MaxPool2d(x, null!));
        Assert.Throws<ArgumentNullException>(() => Functional.AvgPool2d(null!, new Pool2dOptions(2)));
        using Tensor badOut = Tensor.Zeros(1, 2, 2, 2);
        Log(Throws<ArgumentException>(() => Functional.MaxPool2d(x, new Pool2dOptions(2), badOut), "output has shape [1, 2, 2, 2]", "[1, 2, 3, 3]"));
        Log(Throws<ArgumentException>(() => Functional.GlobalAvgPool2d(x, badOut), "output has shape"));
        AssertStillWorks();
    }

    // ------------------------------------------------------------------------------------ others

    [Fact]
    public void Add_mismatched_shapes_output_and_nulls()
    {
        using Tensor a = Tensor.Zeros(2, 3);
        using Tensor b = Tensor.Zeros(3, 2);
        using Tensor c = Tensor.Zeros(6);
        Log(Throws<ArgumentException>(() => Functional.Add(a, b), "b has shape [3, 2]", "expected [2, 3]"));
        Log(Throws<ArgumentException>(() => Functional.Add(a, c), "b has shape [6]"));
        Log(Throws<ArgumentException>(() => Functional.Add(a, a, Activation.None, c), "output has shape [6]", "[2, 3]"));
        Assert.Throws<ArgumentNullException>(() => Functional.Add(a, null!));
        Assert.Throws<ArgumentNullException>(() => Functional.Add(null!, a));
        Log(Throws<ArgumentException>(() => Functional.Add(a, a, (Activation)17), "activation"));
        AssertStillWorks();
    }

    [Fact]
    public void Linear_batchnorm_softmax_activation_validation()
    {
        using Tensor x = Tensor.Zeros(2, 5);
        using Tensor w = Tensor.Zeros(3, 4);
        using Tensor w3 = Tensor.Zeros(3, 4, 1);
        using Tensor b = Tensor.Zeros(4);
        Log(Throws<ArgumentException>(() => Functional.Linear(x, w, null), "in_features = 4"));
        Log(Throws<ArgumentException>(() => Functional.Linear(x, w3, null), "2-D"));
        using Tensor w5 = Tensor.Zeros(3, 5);
        Log(Throws<ArgumentException>(() => Functional.Linear(x, w5, b), "bias has shape [4]", "[3]"));
        Assert.Throws<ArgumentNullException>(() => Functional.Linear(null!, w5, null));

        using Tensor img = Tensor.Zeros(1, 3, 2, 2);
        using Tensor m3 = Tensor.Zeros(3);
        using Tensor v3 = Tensor.Full(1f, 3);
        using Tensor m4 = Tensor.Zeros(4);
        Log(Throws<ArgumentException>(() => Functional.BatchNorm2d(img, m4, v3, null, null, 1e-5f), "runningMean has shape [4]", "[3]"));
        Log(Throws<ArgumentException>(() => Functional.BatchNorm2d(img, m3, v3, m4, null, 1e-5f), "weight has shape [4]"));
        Log(Throws<ArgumentException>(() => Functional.BatchNorm2d(img, m3, v3, null, null, -1f), "epsilon"));
        Log(Throws<ArgumentException>(() => Functional.BatchNorm2d(img, m3, v3, null, null, float.NaN), "epsilon"));
        Assert.Throws<ArgumentNullException>(() => Functional.BatchNorm2d(img, null!, v3, null, null, 1e-5f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Nn.BatchNorm2d(3, eps: -1));

        Log(Throws<ArgumentOutOfRangeException>(() => Functional.Softmax(x, 2), "dimension 2 is out of range", "rank 2"));
        Log(Throws<ArgumentOutOfRangeException>(() => Functional.LogSoftmax(x, -3), "dimension -3"));
        using Tensor wrong = Tensor.Zeros(5, 2);
        Log(Throws<ArgumentException>(() => Functional.Softmax(x, 1, wrong), "output has shape [5, 2]"));
        Log(Throws<ArgumentException>(() => Functional.Activate(x, (Activation)9), "activation"));
        AssertStillWorks();
    }

    // ------------------------------------------------------------------------------------ tensors

    [Fact]
    public void Disposed_tensors_are_refused_everywhere()
    {
        Tensor t = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 1, 2, 2);
        t.Dispose();
        t.Dispose(); // twice is fine
        Assert.True(t.IsDisposed);
        Log(Throws<ObjectDisposedException>(() => t.ToArray(), "disposed"));
        Throws<ObjectDisposedException>(() => _ = t.Shape, "disposed");
        Throws<ObjectDisposedException>(() => t.AsSpan(), "disposed");
        Throws<ObjectDisposedException>(() => t.CopyFrom(new float[4]), "disposed");
        Throws<ObjectDisposedException>(() => t.Reshape(4), "disposed");
        Throws<ObjectDisposedException>(() => Functional.Relu(t), "disposed");
        using Tensor w = Tensor.Zeros(1, 1, 1, 1);
        Throws<ObjectDisposedException>(() => Functional.Conv2d(t, w, null, Conv()), "disposed");
        Throws<ObjectDisposedException>(() => Functional.MaxPool2d(t, new Pool2dOptions(1)), "disposed");

        // A view keeps the storage alive after its base is disposed, and vice versa.
        Tensor baseTensor = Tensor.FromArray([1f, 2f, 3f, 4f], 4);
        Tensor view = baseTensor.Reshape(2, 2);
        baseTensor.Dispose();
        Assert.Equal([1f, 2f, 3f, 4f], view.ToArray());
        view.Dispose();

        var module = new Nn.Linear(2, 2);
        module.Dispose();
        using Tensor x = Tensor.Zeros(1, 2);
        Assert.Throws<ObjectDisposedException>(() => module.Forward(x));
        Assert.Throws<ObjectDisposedException>(() => module.StateDict());
        AssertStillWorks();
    }

    [Fact]
    public void Bad_shapes_and_too_large_dims_are_refused()
    {
        Log(Throws<ArgumentException>(() => Tensor.Zeros(2, -1), "dimension 1 = -1", ">= 1"));
        Log(Throws<ArgumentException>(() => Tensor.Zeros(0), ">= 1"));
        Log(Throws<ArgumentException>(() => Tensor.Zeros(1 << 20, 1 << 20, 1 << 10), "more than the limit"));
        Log(Throws<ArgumentException>(() => Tensor.Zeros(int.MaxValue, int.MaxValue, int.MaxValue, int.MaxValue), "more than the limit"));
        Log(Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3), "data has 5 elements", "needs 6"));
        Assert.Throws<ArgumentNullException>(() => Tensor.FromArray(null!, 1));
        Log(Throws<ArgumentException>(() => Tensor.Uniform(1, 2f, 1f, 3), "low <= high"));
        using Tensor t = Tensor.Zeros(2, 6);
        Log(Throws<ArgumentException>(() => t.Reshape(5, -1), "does not divide"));
        Log(Throws<ArgumentException>(() => t.Reshape(-1, -1), "only one dimension may be -1"));
        Log(Throws<ArgumentException>(() => t.Reshape(3, 3), "cannot reshape"));
        Log(Throws<ArgumentException>(() => t.CopyFrom(new float[3]), "source has 3 elements"));
        Log(Throws<ArgumentException>(() => t.CopyTo(new float[13]), "destination has 13 elements"));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Size(2));
        AssertStillWorks();
    }

    [Fact]
    public void Context_settings_are_validated()
    {
        Log(Throws<ArgumentException>(() => Cnn.NumThreads = -1, "num_threads"));
        Log(Throws<ArgumentException>(() => Cnn.NumThreads = 100_000, "num_threads"));
        Log(Throws<ArgumentException>(() => Cnn.Isa = (CnnIsa)42, "isa"));
        int threads = Cnn.NumThreads;
        Cnn.NumThreads = 1;
        Assert.Equal(1, Cnn.NumThreads);
        Cnn.NumThreads = threads;
        AssertStillWorks();
    }

    // ------------------------------------------------------------------------------------ safetensors

    private static string WriteRaw(byte[] bytes)
    {
        string path = TestPaths.NewScratchFile("bad", ".safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] File8(string header, int dataBytes)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        byte[] all = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(all, (ulong)h.Length);
        h.CopyTo(all, 8);
        return all;
    }

    [Fact]
    public void Safetensors_truncated_and_malformed_files_are_refused()
    {
        Log(Throws<InvalidDataException>(() => Safetensors.Load(WriteRaw([1, 2, 3])), "shorter than the 8-byte header length"));
        byte[] lying = File8("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(lying, 1000);
        Log(Throws<InvalidDataException>(() => Safetensors.Load(WriteRaw(lying)), "beyond the end of the file"));
        BinaryPrimitives.WriteUInt64LittleEndian(lying, ulong.MaxValue);
        Log(Throws<InvalidDataException>(() => Safetensors.Load(WriteRaw(lying)), "header length"));
        Log(Throws<InvalidDataException>(() => Safetensors.Load(WriteRaw(File8("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], ", 0))), "header"));
        Log(Throws<InvalidDataException>(() => Safetensors.Load(WriteRaw(File8("[1, 2, 3]", 0))), "header"));

        // A valid header whose data is cut short (truncated file).
        Log(Throws<InvalidDataException>(
            () => Safetensors.Load(WriteRaw(File8("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8))), "'w'"));
        // Offsets that disagree with the shape; overlapping tensors; negative dims; unknown dtype.
        Log(Throws<InvalidDataException>(
            () => Safetensors.Load(WriteRaw(File8("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 16]}}", 16))), "'w'", "needs 12 bytes"));
        Log(Throws<InvalidDataException>(
            () => Safetensors.Load(WriteRaw(File8("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12))), "overlap"));
        Log(Throws<InvalidDataException>(
            () => Safetensors.Load(WriteRaw(File8("{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8))), "'w'", "negative"));
        Log(Throws<NotSupportedException>(
            () => Safetensors.Load(WriteRaw(File8("{\"flag\": {\"dtype\": \"BOOL\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2))), "flag"));
        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(Path.Combine(TestPaths.ScratchDir, "does-not-exist.safetensors")));
        AssertStillWorks();
    }

    [Fact]
    public void LoadSafetensors_wrong_shape_names_the_key_and_loads_nothing()
    {
        Cnn.ManualSeed(3);
        using var source = new LeNet5(numClasses: 7); // fc3 is [7, 84] instead of [10, 84]
        string path = TestPaths.NewScratchFile("lenet7", ".safetensors");
        source.SaveSafetensors(path);

        using var target = new LeNet5();
        float[] before = target.Fc1.Weight.ToArray();
        var e = Throws<InvalidDataException>(() => target.LoadSafetensors(path), "fc3.weight", "fc3.bias");
        Log(e);
        Assert.Equal(before, target.Fc1.Weight.ToArray()); // all or nothing
        AssertStillWorks();
    }

    [Fact]
    public void Strict_LoadStateDict_reports_missing_and_unexpected_keys()
    {
        Cnn.ManualSeed(4);
        using var block = new BasicBlock(4, 4);
        var state = block.StateDict().ToDictionary(e => e.Key, e => e.Value);
        float[] before = block.Conv1.Weight.ToArray();

        var missing = new Dictionary<string, Tensor>(state);
        missing.Remove("bn2.running_var");
        missing.Remove("conv1.weight");
        Log(Throws<ArgumentException>(() => block.LoadStateDict(missing), "missing key 'bn2.running_var'", "missing key 'conv1.weight'"));

        using Tensor extra = Tensor.Zeros(3);
        var unexpected = new Dictionary<string, Tensor>(state) { ["fc.weight"] = extra };
        Log(Throws<ArgumentException>(() => block.LoadStateDict(unexpected), "unexpected key 'fc.weight'"));

        using Tensor wrong = Tensor.Zeros(4, 4, 1, 1);
        using Tensor changed = TestData.NormalTensor(1, 4, 4, 3, 3);
        var badShape = new Dictionary<string, Tensor>(state) { ["conv2.weight"] = wrong, ["conv1.weight"] = changed };
        Log(Throws<ArgumentException>(() => block.LoadStateDict(badShape, strict: false), "size mismatch for 'conv2.weight'"));
        Assert.Equal(before, block.Conv1.Weight.ToArray()); // nothing copied

        // Non-strict tolerates the missing and unexpected keys and loads the rest.
        var partial = new Dictionary<string, Tensor>(unexpected) { ["conv1.weight"] = changed };
        partial.Remove("bn1.weight");
        block.LoadStateDict(partial, strict: false);
        Assert.Equal(changed.ToArray(), block.Conv1.Weight.ToArray());
        Assert.Throws<ArgumentNullException>(() => block.LoadStateDict((IReadOnlyDictionary<string, Tensor>)null!));
        AssertStillWorks();
    }

    [Fact]
    public void Model_input_and_residual_shape_checks()
    {
        using var lenet = new LeNet5();
        using Tensor wrong = Tensor.Zeros(1, 1, 32, 32);
        Log(Throws<ArgumentException>(() => lenet.Forward(wrong), "[N, 1, 28, 28]"));
        Assert.Throws<ArgumentNullException>(() => lenet.Forward(null!));

        // A Residual whose main path changes the shape without a projection shortcut.
        using var residual = new Residual(new Nn.Conv2d(2, 3, 1));
        using Tensor x = Tensor.Zeros(1, 2, 4, 4);
        Log(Throws<ArgumentException>(() => residual.Forward(x), "Residual", "[1, 3, 4, 4]", "[1, 2, 4, 4]"));
        Assert.Throws<ArgumentNullException>(() => new Residual(null!));
        AssertStillWorks();
    }
}
