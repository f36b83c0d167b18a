using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// NaN and ±inf inputs give torch's outputs: NaN where torch has NaN, the same infinities, and
/// finite values within the op's tolerance (e.g. a -inf logit is a masked class: probability 0).
/// </summary>
[Collection(OracleCollection.Name)]
public sealed class NonFiniteTests(OracleFixture oracle, ITestOutputHelper output)
{
    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(
        ["relu", "sigmoid", "tanh", "add", "max_pool2d", "avg_pool2d", "softmax", "log_softmax", "conv2d", "linear", "batch_norm"]);

    private static float[] Data(int seed, int n)
    {
        float[] d = TestData.Normal(seed, n, 2.0);
        // NaN, +inf and -inf scattered through the tensor (also into vector bodies and tails).
        for (int i = 3; i < n; i += 11)
        {
            d[i] = (i / 11 % 3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
        }

        return d;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Non_finite_inputs_give_torchs_outputs(string op, CnnIsa isa)
    {
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of("nonfinite-" + op);
        int[] shape = [2, 3, 7, 9];
        using Tensor x = Tensor.FromArray(Data(seed, 2 * 3 * 7 * 9), shape);
        Tensor y;
        OracleReply reply;
        Tolerance tol = op switch
        {
            "relu" or "add" => ElementwiseTests.ExactTolerance,
            "sigmoid" or "tanh" => ElementwiseTests.TranscendentalTolerance,
            "max_pool2d" => PoolTests.MaxTolerance,
            "avg_pool2d" => PoolTests.AvgTolerance,
            "softmax" => ElementwiseTests.SoftmaxTolerance,
            "log_softmax" => ElementwiseTests.LogSoftmaxTolerance,
            _ => ElementwiseTests.BatchNormTolerance,
        };
        switch (op)
        {
            case "relu":
            case "sigmoid":
            case "tanh":
                y = Functional.Activate(x, Enum.Parse<Activation>(op, ignoreCase: true));
                reply = oracle.Run(op, null, OracleTensor.Of("input", x));
                break;
            case "add":
                using (Tensor b = Tensor.FromArray(Data(seed + 1, (int)x.Length), shape))
                {
                    y = Functional.Add(x, b, Activation.Relu);
                    reply = oracle.Run("add", new { activation = "relu" }, OracleTensor.Of("a", x), OracleTensor.Of("b", b));
                }

                break;
            case "max_pool2d":
                y = Functional.MaxPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1), CeilMode = true });
                reply = oracle.Run("max_pool2d", new { kernel = 3, stride = 2, padding = 1, ceil_mode = true }, OracleTensor.Of("input", x));
                break;
            case "avg_pool2d":
                y = Functional.AvgPool2d(x, new Pool2dOptions(2) { Stride = (1, 2), Padding = (1, 0), CountIncludePad = false });
                reply = oracle.Run("avg_pool2d", new { kernel = 2, stride = new[] { 1, 2 }, padding = new[] { 1, 0 }, count_include_pad = false }, OracleTensor.Of("input", x));
                break;
            case "softmax":
            case "log_softmax":
                {
                    // Rows: clean, one masked (-inf) class, a NaN, a +inf, and all -inf.
                    float[] d = TestData.Normal(seed, 5 * 10, 3.0);
                    d[10 + 4] = float.NegativeInfinity;
                    d[10 + 7] = float.NegativeInfinity;
                    d[20 + 2] = float.NaN;
                    d[30 + 9] = float.PositiveInfinity;
                    for (int i = 40; i < 50; i++)
                    {
                        d[i] = float.NegativeInfinity;
                    }

                    using Tensor logits = Tensor.FromArray(d, 5, 10);
                    y = op == "softmax" ? Functional.Softmax(logits, 1) : Functional.LogSoftmax(logits, 1);
                    reply = oracle.Run(op, new { dim = 1 }, OracleTensor.Of("input", logits));
                    break;
                }

            case "conv2d":
                using (Tensor w = TestData.UniformTensor(seed + 2, -0.3, 0.3, 4, 3, 3, 3))
                {
                    y = Functional.Conv2d(x, w, null, new Conv2dOptions { Padding = Padding2d.Symmetric(1) });
                    reply = oracle.Run("conv2d", new { padding = 1 }, OracleTensor.Of("input", x), OracleTensor.Of("weight", w));
                }

                tol = ConvTests.ConvTolerance;
                break;
            case "linear":
                using (Tensor flat = x.Reshape(6, 63))
                using (Tensor w = TestData.UniformTensor(seed + 3, -0.1, 0.1, 5, 63))
                {
                    y = Functional.Linear(flat, w, null);
                    reply = oracle.Run("linear", null, OracleTensor.Of("input", flat), OracleTensor.Of("weight", w));
                }

                tol = ElementwiseTests.LinearTolerance;
                break;
            default:
                using (Tensor mean = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3))
                using (Tensor var = Tensor.FromArray([1f, 0.5f, 2f], 3))
                {
                    y = Functional.BatchNorm2d(x, mean, var, null, null, 1e-5f);
                    reply = oracle.Run("batch_norm", null, OracleTensor.Of("input", x), OracleTensor.Of("running_mean", mean), OracleTensor.Of("running_var", var));
                }

                break;
        }

        using (y)
        {
            OracleErrors.AssertClose(output, "nonfinite." + op, isa, op, y, reply["output"], tol);
        }
    }
}
