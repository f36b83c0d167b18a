using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>
/// Conv2dPlan (the prepacked native convolution) against torch on ConvTests' shapes, every tested ISA, the same
/// tolerance; also at a batch other than the one the plan was created with, and bitwise against Functional.Conv2d
/// wherever both take the same algorithm.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class Conv2dPlanTests(ITestOutputHelper output)
{
    /// <summary>Shapes where a plan takes Winograd but the stateless call does not (&gt; 256 input channels, few tiles).</summary>
    public static IReadOnlyList<ConvTests.ConvCase> PlanOnlyWinogradCases { get; } =
    [
        new(1, 288, 8, 8, 40, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
        new(2, 300, 7, 7, 64, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Bias: false),
    ];

    /// <summary>
    /// Shapes an AVX2 or AVX-512 plan runs by the plan-only direct path (vectors over output channels): strided convs and small
    /// planes with many taps, with channel tails around the 16-lane vector and the 64-channel panel, 7-pixel tile tails,
    /// dilation, asymmetric padding and K in two blocks (&gt; 1024 taps). ConvTests' strided shapes with 16 or more
    /// output channels take it too.
    /// </summary>
    public static IReadOnlyList<ConvTests.ConvCase> PlanOnlyDirectCases { get; } =
    [
        new(1, 3, 45, 45, 64, 7, 7, SH: 2, SW: 2, PT: 3, PB: 3, PL: 3, PR: 3, Act: Activation.Relu),
        new(2, 24, 14, 14, 40, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu6),
        new(1, 3, 51, 51, 96, 11, 11, SH: 4, SW: 4, Act: Activation.Relu),
        new(2, 12, 16, 15, 17, 3, 3, SH: 2, SW: 3, PT: 0, PB: 2, PL: 1, PR: 0, Bias: false),
        new(1, 20, 13, 13, 33, 3, 3, SH: 2, SW: 2, PT: 2, PB: 2, PL: 2, PR: 2, DH: 2, DW: 2, Act: Activation.Tanh),
        new(1, 300, 5, 9, 70, 1, 1, Act: Activation.Sigmoid),
        new(1, 1100, 3, 5, 20, 1, 1),
        new(3, 64, 11, 11, 130, 1, 1, SH: 2, SW: 2, Act: Activation.Relu),
    ];

    /// <summary>
    /// The hand-picked and Winograd shapes of ConvTests, 60 of its random ones, and the plan-only Winograd and direct
    /// shapes.
    /// </summary>
    private static readonly Dictionary<string, ConvTests.ConvCase> s_byName =
        ConvTests.Cases.Take(ConvTests.Cases.Count - 240).Concat(PlanOnlyWinogradCases).Concat(PlanOnlyDirectCases)
            .DistinctBy(c => c.Name).ToDictionary(c => c.Name);

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(s_byName.Keys);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Plan_matches_torch(string name, CnnIsa isa)
    {
        ConvTests.ConvCase c = s_byName[name];
        using IDisposable _ = Isas.Use(isa);
        (Tensor x, Tensor w, Tensor? b) = ConvTests.Operands(name, c); // the same data as ConvTests: one torch run per case
        using Tensor xd = x, wd = w;
        using Tensor? bd = b;

        using var plan = new Conv2dPlan([c.N, c.C, c.H, c.W], w, b, c.Options, c.Act);
        Assert.Equal(isa, plan.Isa);
        using Tensor y = plan.Forward(x);
        OracleErrors.AssertClose(output, "conv2d plan", isa, name, y, ConvTests.Expected(name, c, x, w, b), ConvTests.ConvTolerance);

        if (isa != CnnIsa.Reference && PlanOnlyDirectCases.Contains(c))
        {
            Assert.Equal(CnnConv2dAlgorithm.Direct, plan.Algorithm);
        }

        // Same bits as the stateless call wherever both take the same algorithm: GEMM, depthwise and reference plans,
        // and the shapes the stateless call runs by Winograd too (the plan's Winograd rule admits more). The direct
        // path exists for plans only.
        using Tensor reference = Functional.Conv2d(x, w, b, c.Options, c.Act);
        if (plan.Algorithm is not (CnnConv2dAlgorithm.Winograd or CnnConv2dAlgorithm.Direct) ||
            (plan.Algorithm == CnnConv2dAlgorithm.Winograd && ConvTests.WinogradCases.Contains(c)))
        {
            Assert.Equal(reference.ToArray(), y.ToArray());
        }

        // A batch of one (the first image; another batch than the plan's) through the span overload.
        float[] first = new float[y.Length / c.N];
        plan.Forward(1, x.ToArray().AsSpan(0, (int)(x.Length / c.N)), first);
        Assert.Equal(y.ToArray().AsSpan(0, first.Length).ToArray(), first);
    }
}
