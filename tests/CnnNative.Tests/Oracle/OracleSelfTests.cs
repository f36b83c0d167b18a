using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;
using TorchSharp;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// The in-process oracle itself: libtorch on one thread, conversions to and from float64 torch tensors that are exact
/// (every float32 survives, float64 results round to nearest), bad reference calls that fail clearly and leave the
/// oracle working, and a load failure that says how to fix it.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class OracleSelfTests(ITestOutputHelper output)
{
    [Fact]
    public void Oracle_is_libtorch_on_one_thread()
    {
        string version = Torch.Ensure();
        output.WriteLine($"libtorch {version}, torch threads {torch.get_num_threads()}, shim preloaded: {Torch.UsesCompatShim}");
        Assert.StartsWith("2.10.", version);
        Assert.Equal(1, torch.get_num_threads());
    }

    [Fact]
    public void Float32_values_round_trip_bit_exactly_through_float64_torch_tensors()
    {
        // Signed zero, the smallest subnormal, the largest finite, non-finite values, and values float64 holds exactly.
        float[] values =
        [
            1.5f, -0f, 0f, float.Epsilon, -float.Epsilon, 1.17549435e-38f, float.MaxValue, float.MinValue,
            -7.25f, 0.1f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 16777217f, 3.14159274f, -1e-30f,
        ];
        using var scope = torch.NewDisposeScope();
        torch.Tensor t = Torch.From(values, [2, 8]);
        Assert.Equal(torch.ScalarType.Float64, t.dtype);
        Assert.Equal([2, 8], Torch.ShapeOf(t));
        Assert.False(t.requires_grad);
        Assert.Equal(
            values.Select(BitConverter.SingleToInt32Bits),
            Torch.ToFloats(t).Select(BitConverter.SingleToInt32Bits));

        // Leaves for gradients, from CnnNative tensors.
        using Tensor x = Tensor.FromArray(values, 4, 4);
        torch.Tensor leaf = Torch.From(x, requiresGrad: true);
        Assert.True(leaf.requires_grad);
        Assert.Equal(x.ToArray().Select(BitConverter.SingleToInt32Bits), Torch.ToFloats(leaf).Select(BitConverter.SingleToInt32Bits));
        Assert.Equal([4, 4], Torch.ShapeOf(leaf));

        // A strided (transposed) view comes back row-major in its own shape.
        OracleTensor transposed = TorchReference.ToOracle("t", t.t());
        Assert.Equal([8, 2], transposed.Shape);
        Assert.Equal(values[8], transposed.Data[1]);
        Assert.Equal(values[1], transposed.Data[2]);
    }

    [Fact]
    public void Float64_results_round_to_the_nearest_float32()
    {
        // 1 + 2^-24 is half-way between 1 and the next float: ties go to even (1); just above the tie rounds up;
        // 1 + 3 * 2^-24 is a tie between odd and even neighbours and rounds up to the even one, 1 + 2^-22.
        double ulpHalf = Math.ScaleB(1, -24);
        using var scope = torch.NewDisposeScope();
        torch.Tensor t = torch.tensor(
            new[] { 1 + ulpHalf, 1 + ulpHalf + Math.ScaleB(1, -40), 1 + (3 * ulpHalf), -(1 + ulpHalf), 1e300, 1e-300 },
            dtype: torch.ScalarType.Float64);
        float[] f = Torch.ToFloats(t);
        Assert.Equal(1f, f[0]);
        Assert.Equal(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1f) + 1), f[1]);
        Assert.Equal(1f + MathF.ScaleB(1, -22), f[2]);
        Assert.Equal(-1f, f[3]);
        Assert.Equal(float.PositiveInfinity, f[4]);
        Assert.Equal(0f, f[5]);
    }

    [Fact]
    public void Bad_reference_calls_fail_clearly_and_the_oracle_keeps_working()
    {
        using Tensor x = TestData.NormalTensor(1, 1, 2, 3, 3);
        using Tensor w = TestData.NormalTensor(2, 4, 3, 3, 3); // 3 input channels, x has 2
        using Tensor go = TestData.NormalTensor(3, 1, 2, 3, 4);

        // libtorch's own error for an impossible convolution surfaces as an exception (the process lives on).
        Exception e = Assert.ThrowsAny<Exception>(() => TorchReference.Output(() =>
            TorchOps.Conv2d(Torch.From(x), Torch.From(w), null, (1, 1), (1, 1, 1, 1), (1, 1), 1, Activation.None)));
        output.WriteLine(e.Message.Split('\n')[0]);
        Assert.Contains("channels", e.Message);

        // A grad_output of another shape than the output: both shapes named.
        var shape = Assert.Throws<ArgumentException>(() => TorchReference.Gradients(go, t => torch.nn.functional.relu(t["input"]), ("input", x)));
        Assert.Contains("[1, 2, 3, 4]", shape.Message);
        Assert.Contains("[1, 2, 3, 3]", shape.Message);

        // No grad_output for an output of many values; an input the reference does not have; a result it did not make.
        Assert.Throws<ArgumentException>(() => TorchReference.Gradients(null, t => torch.nn.functional.relu(t["input"]), ("input", x)));
        var missing = Assert.Throws<KeyNotFoundException>(() => TorchReference.Gradients(null, t => t["weight"].sum(), ("input", x)));
        Assert.Contains("input", missing.Message);
        TorchResult r = TorchReference.Gradients(null, t => t["input"].sum(), ("input", x));
        Assert.Contains("grad.input", Assert.Throws<KeyNotFoundException>(() => r["grad.weight"]).Message);

        // Still working, and exact: relu of exact values is exact; d(sum)/dx = 1.
        float[] values = [1.5f, -0f, float.Epsilon, 3.4028235e38f, -7.25f, 0.1f];
        using Tensor v = Tensor.FromArray(values, 6);
        Assert.Equal([1.5f, 0f, float.Epsilon, 3.4028235e38f, 0f, 0.1f], TorchReference.Output(() => torch.nn.functional.relu(Torch.From(v))).Data);
        Assert.All(r["grad.input"].Data, g => Assert.Equal(1f, g));
    }

    [Fact]
    public void A_load_failure_names_the_fix()
    {
        // What Torch.Ensure throws when TorchSharp's native library does not load (the way it fails on a machine without
        // libtorch or, on Debian 12, without the libstdc++ shim): the cause, and how to run the tests so that it loads.
        var cause = new TypeInitializationException(
            "TorchSharp.torch", new DllNotFoundException("libLibTorchSharp.so: cannot open shared object file"));
        InvalidOperationException e = Torch.LoadFailure(cause);
        output.WriteLine(e.Message);
        Assert.Contains("./build.sh test", e.Message);
        Assert.Contains("tests/torchsharp-compat/setup.sh", e.Message);
        Assert.Contains("LD_PRELOAD", e.Message);
        Assert.Contains("libLibTorchSharp.so: cannot open shared object file", e.Message);
        Assert.Same(cause, e.InnerException);
    }
}
