using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// NaN and ±inf inputs give torch's outputs: NaN where torch has NaN, the same infinities, and
/// finite values within the op's tolerance (e.g. a -inf logit is a masked class: probability 0).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class NonFiniteTests(ITestOutputHelper output)
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
        OracleTensor expected;
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
                expected = TorchReference.Output(() => TorchOps.Activate(Torch.From(x), Enum.Parse<Activation>(op, ignoreCase: true)));
                break;
            case "add":
                using (Tensor b = Tensor.FromArray(Data(seed + 1, (int)x.Length), shape))
                {
                    y = Functional.Add(x, b, Activation.Relu);
                    expected = TorchReference.Output(() => TorchOps.Add(Torch.From(x), Torch.From(b), Activation.Relu));
                }

                break;
            case "max_pool2d":
                y = Functional.MaxPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1), CeilMode = true });
                expected = TorchReference.Output(() => TorchOps.MaxPool2d(Torch.From(x), (3, 3), (2, 2), (1, 1), (1, 1), ceilMode: true));
                break;
            case "avg_pool2d":
                y = Functional.AvgPool2d(x, new Pool2dOptions(2) { Stride = (1, 2), Padding = (1, 0), CountIncludePad = false });
                expected = TorchReference.Output(() =>
                    TorchOps.AvgPool2d(Torch.From(x), (2, 2), (1, 2), (1, 0), ceilMode: false, countIncludePad: false, divisorOverride: null));
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
                    expected = TorchReference.Output(() => op == "softmax" ? TorchOps.Softmax(Torch.From(logits), 1) : TorchOps.LogSoftmax(Torch.From(logits), 1));
                    break;
                }

            case "conv2d":
                using (Tensor w = TestData.UniformTensor(seed + 2, -0.3, 0.3, 4, 3, 3, 3))
                {
                    y = Functional.Conv2d(x, w, null, new Conv2dOptions { Padding = Padding2d.Symmetric(1) });
                    expected = TorchReference.Output(() =>
                        TorchOps.Conv2d(Torch.From(x), Torch.From(w), null, (1, 1), (1, 1, 1, 1), (1, 1), 1, Activation.None));
                }

                tol = ConvTests.ConvTolerance;
                break;
            case "linear":
                using (Tensor flat = x.Reshape(6, 63))
                using (Tensor w = TestData.UniformTensor(seed + 3, -0.1, 0.1, 5, 63))
                {
                    y = Functional.Linear(flat, w, null);
                    expected = TorchReference.Output(() => TorchOps.Linear(Torch.From(flat), Torch.From(w), null, Activation.None));
                }

                tol = ElementwiseTests.LinearTolerance;
                break;
            default:
                using (Tensor mean = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3))
                using (Tensor var = Tensor.FromArray([1f, 0.5f, 2f], 3))
                {
                    y = Functional.BatchNorm2d(x, mean, var, null, null, 1e-5f);
                    expected = TorchReference.Output(() => TorchOps.BatchNormEval(Torch.From(x), Torch.From(mean), Torch.From(var), null, null, 1e-5, Activation.None));
                }

                break;
        }

        using (y)
        {
            OracleErrors.AssertClose(output, "nonfinite." + op, isa, op, y, expected, tol);
        }
    }
}
