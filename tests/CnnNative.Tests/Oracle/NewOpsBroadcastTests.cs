using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Oracle;

/// <summary>Broadcast Sub, Div and Pow (the ONNX ops) against libtorch 2.10 in float64 on every tested ISA.</summary>
public sealed class NewOpsBroadcastTests(ITestOutputHelper output)
{
    // One float32 operation per element vs float64: half an ulp of the result, plus powf's error (< 1 ulp), scaled
    // by max(1, |expected|).
    private const double Tolerance = 3e-7;

    private static readonly (CnnBinaryOp Op, Func<TT, TT, TT> Torch)[] Ops =
    [
        (CnnBinaryOp.Sub, (a, b) => a - b),
        (CnnBinaryOp.Div, (a, b) => a / b),
        (CnnBinaryOp.Pow, (a, b) => a.pow(b)),
    ];

    public static TheoryData<string, CnnIsa> Cases() => Isas.Cross(Ops.Select(o => o.Op.ToString()));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_torch_over_broadcast_shapes(string op, CnnIsa isa)
    {
        Torch.Ensure();
        using IDisposable _ = Isas.Use(isa);
        var (ours, reference) = Ops.Single(o => o.Op.ToString() == op);
        using var noGrad = Autograd.NoGrad();
        var shapes = new (int[] A, int[] B)[]
        {
            ([2, 3, 5, 7], [2, 3, 5, 7]), ([1, 19, 13, 11], [19, 1, 1]), ([2, 1, 5, 1], [1, 3, 1, 7]), ([37], [1]), ([3, 1037], [1037]),
            ([1], [4, 1, 9]),
        };
        foreach (var (sa, sb) in shapes)
        {
            // Pow gets a positive base (a negative one with a fractional exponent is NaN in both) and exponents in [-2, 2].
            float[] a = Values(sa.Aggregate(1, (x, y) => x * y), seed: sa.Sum(), positive: ours == CnnBinaryOp.Pow);
            float[] b = Values(sb.Aggregate(1, (x, y) => x * y), seed: 100 + sb.Sum(), positive: ours == CnnBinaryOp.Div);
            using Tensor ta = Tensor.FromArray(a, sa);
            using Tensor tb = Tensor.FromArray(b, sb);
            using Tensor y = Functional.Broadcast(ours, ta, tb);
            using TT ty = reference(Torch.From(a, sa), Torch.From(b, sb));
            Assert.Equal(Torch.ShapeOf(ty), y.Shape);
            float[] got = y.ToArray(), want = Torch.ToFloats(ty);
            double worst = 0;
            for (int i = 0; i < got.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs((double)got[i] - want[i]) / Math.Max(1.0, Math.Abs((double)want[i])));
            }

            output.WriteLine($"{op} {isa} [{string.Join(",", sa)}] (op) [{string.Join(",", sb)}]: max scaled error {worst:E2}");
            Assert.True(worst <= Tolerance, $"error {worst} > {Tolerance}");
        }
    }

    private static float[] Values(int count, int seed, bool positive)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            double x = rng.NextDouble() * 2 - 1;
            v[i] = (float)(positive ? 0.25 + 2 * Math.Abs(x) : 2 * x);
        }

        return v;
    }
}
