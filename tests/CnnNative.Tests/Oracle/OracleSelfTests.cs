using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>The oracle is real torch, answers bad requests without dying, and round-trips bytes exactly.</summary>
[Collection(OracleCollection.Name)]
public sealed class OracleSelfTests(OracleFixture oracle, ITestOutputHelper output)
{
    [Fact]
    public void Oracle_is_torch_and_survives_bad_requests()
    {
        OracleReply ping = oracle.Run("ping");
        output.WriteLine($"torch {oracle.TorchVersion}, python {ping.Header["python"]}, torch threads {ping.Header["threads"]}, startup {oracle.StartupTime.TotalSeconds:0.0} s");
        Assert.False(string.IsNullOrEmpty(oracle.TorchVersion));
        Assert.Equal(1, ping.Header["threads"]!.GetValue<int>());

        var e = Assert.Throws<InvalidOperationException>(() => oracle.Run("no_such_op"));
        Assert.Contains("unknown op", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => oracle.Run("conv2d", null, new OracleTensor("input", new float[4], [1, 1, 2, 2])));
        Assert.Contains("weight", e.Message);
        e = Assert.Throws<InvalidOperationException>(() => oracle.Run("max_pool2d", new { kernel = 5 }, new OracleTensor("input", new float[4], [1, 1, 2, 2])));
        output.WriteLine(e.Message);

        // Still alive, and float bits survive the trip (relu of exact values is exact).
        float[] values = [1.5f, -0f, float.Epsilon, 3.4028235e38f, -7.25f, 0.1f];
        OracleReply r = oracle.Run("relu", new { dtype = "float32" }, new OracleTensor("input", values, [6]));
        Assert.Equal(new[] { 1.5f, 0f, float.Epsilon, 3.4028235e38f, 0f, 0.1f }, r["output"].Data);
    }
}
