using CnnNative.Tests.Infrastructure;
using TorchSharp;

namespace CnnNative.Tests.Oracle;

/// <summary>The in-process oracle is libtorch 2.10 and computes: a float64 conv2d forward and backward.</summary>
public sealed class TorchSharpOracleTests(ITestOutputHelper output)
{
    [Fact]
    public void Oracle_is_libtorch_2_10_and_computes_conv2d_forward_and_backward()
    {
        string version = Torch.Ensure();
        output.WriteLine($"libtorch {version} (TorchSharp), shim preloaded: {Torch.UsesCompatShim}, library: {Torch.LibraryPath}");
        Assert.StartsWith("2.10.", version);

        // All-ones 1x1x3x3 input and weight with padding 1: the centre output sums all nine taps, a corner four.
        using var x = Torch.From(Enumerable.Repeat(1f, 9).ToArray(), [1, 1, 3, 3], requiresGrad: true);
        using var w = Torch.From(Enumerable.Repeat(1f, 9).ToArray(), [1, 1, 3, 3], requiresGrad: true);
        using var y = torch.nn.functional.conv2d(x, w, padding: [1, 1]);
        Assert.Equal([4f, 6f, 4f, 6f, 9f, 6f, 4f, 6f, 4f], Torch.ToFloats(y));
        using var s = y.sum();
        s.backward();
        // d(sum)/dw[i,j] = number of outputs that see tap (i,j) = sum of the input window it slides over.
        Assert.Equal([4f, 6f, 4f, 6f, 9f, 6f, 4f, 6f, 4f], Torch.ToFloats(w.grad!));
        Assert.Equal(torch.ScalarType.Float64, y.dtype);
    }
}
