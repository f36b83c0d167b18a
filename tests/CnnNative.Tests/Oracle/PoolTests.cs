using System.Collections.Concurrent;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>MaxPool2d / AvgPool2d / LpPool2d / GlobalAvgPool2d against torch's F.* pooling.</summary>
[Collection(TorchCollection.Name)]
public sealed class PoolTests(ITestOutputHelper output)
{
    /// <summary>Max pooling picks one of its inputs: it must be exact.</summary>
    public static readonly Tolerance MaxTolerance = new(0, 0);

    /// <summary>A short float32 sum and one division.</summary>
    public static readonly Tolerance AvgTolerance = new(1e-6, 1e-5);

    /// <summary>pow, a short sum, pow(1/p).</summary>
    public static readonly Tolerance LpTolerance = new(1e-5, 1e-5);

    /// <summary>A float32 mean over up to a few hundred values.</summary>
    public static readonly Tolerance GlobalAvgTolerance = new(1e-6, 1e-5);

    private static readonly ConcurrentDictionary<string, OracleTensor> s_expected = new();

    /// <summary>One pooling case of the sweep.</summary>
    public sealed record PoolCase(
        string Kind, int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH = 0, int PW = 0,
        int DH = 1, int DW = 1, bool Ceil = false, bool CountIncludePad = true, int? Divisor = null, float P = 2f)
    {
        public string Name =>
            FormattableString.Invariant($"{Kind}-n{N}-c{C}-{H}x{W}-k{KH}x{KW}-s{SH}x{SW}-p{PH}x{PW}-d{DH}x{DW}{(Ceil ? "-ceil" : "")}") +
            (Kind == "avg" ? (CountIncludePad ? "-incpad" : "-excpad") + (Divisor is int d ? FormattableString.Invariant($"-div{d}") : "") : "") +
            (Kind == "lp" ? FormattableString.Invariant($"-p{P}") : "");

        /// <summary>torch's pooling output size (with its ceil-mode rule: the last window starts inside input or left padding).</summary>
        public (int H, int W) Out => (Size(H, KH, SH, PH, DH), Size(W, KW, SW, PW, DW));

        private int Size(int n, int k, int s, int p, int d)
        {
            int span = n + (2 * p) - (d * (k - 1)) - 1;
            if (span < 0)
            {
                return 0;
            }

            int o = (Ceil ? (span + s - 1) / s : span / s) + 1;
            if (Ceil && (o - 1) * s >= n + p)
            {
                o--;
            }

            return o;
        }

        /// <summary>The case's pooling by torch (F.max_pool2d / F.avg_pool2d / F.lp_pool2d) on a float64 torch tensor.</summary>
        public TorchSharp.torch.Tensor Reference(TorchSharp.torch.Tensor x) => Kind switch
        {
            "max" => TorchOps.MaxPool2d(x, (KH, KW), (SH, SW), (PH, PW), (DH, DW), Ceil),
            "avg" => TorchOps.AvgPool2d(x, (KH, KW), (SH, SW), (PH, PW), Ceil, CountIncludePad, Divisor),
            _ => TorchOps.LpPool2d(x, P, (KH, KW), (SH, SW), Ceil),
        };

        public Pool2dOptions Options => new(KH, KW)
        {
            Stride = (SH, SW),
            Padding = (PH, PW),
            Dilation = (DH, DW),
            CeilMode = Ceil,
            CountIncludePad = CountIncludePad,
            DivisorOverride = Divisor,
            NormType = P,
        };
    }

    public static IReadOnlyList<PoolCase> Cases { get; } = [.. BuildCases(), .. RandomCases(count: 240, seed: 11222026)];

    private static readonly Dictionary<string, PoolCase> s_byName = Cases.DistinctBy(c => c.Name).ToDictionary(c => c.Name);

    public static TheoryData<string, CnnIsa> MaxRows => Isas.Cross(s_byName.Values.Where(c => c.Kind == "max").Select(c => c.Name));

    public static TheoryData<string, CnnIsa> AvgRows => Isas.Cross(s_byName.Values.Where(c => c.Kind == "avg").Select(c => c.Name));

    public static TheoryData<string, CnnIsa> LpRows => Isas.Cross(s_byName.Values.Where(c => c.Kind == "lp").Select(c => c.Name));

    [Theory]
    [MemberData(nameof(MaxRows))]
    public void MaxPool2d_matches_torch(string name, CnnIsa isa) => Run(name, isa);

    [Theory]
    [MemberData(nameof(AvgRows))]
    public void AvgPool2d_matches_torch(string name, CnnIsa isa) => Run(name, isa);

    [Theory]
    [MemberData(nameof(LpRows))]
    public void LpPool2d_matches_torch(string name, CnnIsa isa) => Run(name, isa);

    public static TheoryData<string, CnnIsa> GlobalRows => Isas.Cross(["1x3x5x5", "2x17x7x9", "1x64x1x1", "3x8x13x1", "2x33x16x16"]);

    [Theory]
    [MemberData(nameof(GlobalRows))]
    public void GlobalAvgPool2d_matches_torch_adaptive_avg_pool2d(string shapeText, CnnIsa isa)
    {
        int[] shape = shapeText.Split('x').Select(int.Parse).ToArray();
        using IDisposable _ = Isas.Use(isa);
        using Tensor x = TestData.NormalTensor(Seeds.Of(shapeText), shape);
        using Tensor y = Functional.GlobalAvgPool2d(x);
        OracleTensor expected = s_expected.GetOrAdd("global-" + shapeText, _ =>
            TorchReference.Output(() => TorchOps.AdaptiveAvgPool2d(Torch.From(x), (1, 1))));
        OracleErrors.AssertClose(output, "global_avg_pool2d", isa, shapeText, y, expected, GlobalAvgTolerance);

        using Tensor into = Tensor.FromArray(Enumerable.Repeat(float.NaN, (int)y.Length).ToArray(), y.Shape);
        Assert.Same(into, Functional.GlobalAvgPool2d(x, into));
        Assert.Equal(y.ToArray(), into.ToArray());
    }

    private void Run(string name, CnnIsa isa)
    {
        PoolCase c = s_byName[name];
        using IDisposable _ = Isas.Use(isa);
        int seed = Seeds.Of(name);

        // LP with a non-integer or odd p needs non-negative inputs (torch gives NaN otherwise).
        bool positive = c.Kind == "lp" && c.P != 1f && c.P != 2f;
        using Tensor x = positive
            ? TestData.UniformTensor(seed, 0.0, 2.0, c.N, c.C, c.H, c.W)
            : TestData.NormalTensor(seed, c.N, c.C, c.H, c.W);
        Pool2dOptions options = c.Options;

        Tensor Pool(Tensor? into = null) => (c.Kind, into) switch
        {
            ("max", null) => Functional.MaxPool2d(x, options),
            ("max", _) => Functional.MaxPool2d(x, options, into),
            ("avg", null) => Functional.AvgPool2d(x, options),
            ("avg", _) => Functional.AvgPool2d(x, options, into),
            ("lp", null) => Functional.LpPool2d(x, options),
            _ => Functional.LpPool2d(x, options, into!),
        };

        using Tensor y = Pool();

        OracleTensor expected = s_expected.GetOrAdd(name, _ => TorchReference.Output(() => c.Reference(Torch.From(x))));

        Tolerance tolerance = c.Kind switch { "max" => MaxTolerance, "avg" => AvgTolerance, _ => LpTolerance };
        OracleErrors.AssertClose(output, c.Kind + "_pool2d", isa, name, y, expected, tolerance);

        using Tensor into = Tensor.FromArray(Enumerable.Repeat(float.NaN, (int)y.Length).ToArray(), y.Shape);
        Assert.Same(into, Pool(into));
        Assert.Equal(y.ToArray(), into.ToArray());
    }

    /// <summary>
    /// A seeded random sweep (the same every run) over kind, rectangular kernels 1..5, stride 1..3 per
    /// axis, padding 0..k/2 (none for LP), dilation 1..3 (max), ceil_mode, count_include_pad,
    /// divisor_override 1..9, p in {1, 1.5, 2, 3, 4}, sizes 1..16; kept when torch accepts the shape.
    /// </summary>
    private static List<PoolCase> RandomCases(int count, int seed)
    {
        var rng = new Random(seed);
        string[] kinds = ["max", "avg", "lp"];
        float[] ps = [1f, 1.5f, 2f, 3f, 4f];
        var list = new List<PoolCase>();
        while (list.Count < count)
        {
            string kind = kinds[rng.Next(3)];
            int kh = rng.Next(1, 6), kw = rng.Next(10) < 6 ? kh : rng.Next(1, 6);
            int sh = rng.Next(1, 4), sw = rng.Next(10) < 6 ? sh : rng.Next(1, 4);
            int ph = kind == "lp" ? 0 : rng.Next((kh / 2) + 1), pw = kind == "lp" ? 0 : rng.Next((kw / 2) + 1);
            int dh = kind == "max" && rng.Next(3) == 0 ? rng.Next(2, 4) : 1;
            int dw = kind == "max" && rng.Next(3) == 0 ? rng.Next(2, 4) : 1;
            var c = new PoolCase(
                kind, rng.Next(1, 3), rng.Next(1, 20), rng.Next(1, 17), rng.Next(1, 17), kh, kw, sh, sw, ph, pw, dh, dw,
                Ceil: rng.Next(2) == 0,
                CountIncludePad: kind != "avg" || rng.Next(2) == 0,
                Divisor: kind == "avg" && rng.Next(5) == 0 ? rng.Next(1, 10) : null,
                P: kind == "lp" ? ps[rng.Next(ps.Length)] : 2f);
            if (c.Out.H >= 1 && c.Out.W >= 1)
            {
                list.Add(c);
            }
        }

        return list;
    }

    private static List<PoolCase> BuildCases()
    {
        int[] channels = [3, 5, 17, 8];
        var list = new List<PoolCase>();

        // kernel 1..5 x stride 1..3 x ceil_mode, for max and avg; padding 0..k/2, dilation (max),
        // count_include_pad and divisor_override (avg), odd sizes, batch and channels rotate.
        int i = 0;
        for (int k = 1; k <= 5; k++)
        {
            for (int s = 1; s <= 3; s++)
            {
                foreach (bool ceil in new[] { false, true })
                {
                    int kw = i % 4 == 3 ? Math.Max(1, k - 1) : k; // some rectangular kernels
                    int ph = i % ((k / 2) + 1), pw = (i / 2) % ((kw / 2) + 1);
                    int d = k > 1 && i % 3 == 0 ? 2 : 1;
                    int h = 7 + (i % 6), w = 8 + ((i * 7) % 5);
                    int n = i % 4 == 0 ? 2 : 1, ch = channels[i % 4];
                    list.Add(new PoolCase("max", n, ch, h, w, k, kw, s, s == 3 ? 2 : s, ph, pw, d, i % 5 == 0 ? 1 : d, ceil));
                    list.Add(new PoolCase("avg", n, ch, h + 1, w, k, kw, s, s, ph, pw, Ceil: ceil,
                        CountIncludePad: i % 2 == 0, Divisor: i % 5 == 4 ? 3 + (i % 4) : null));
                    i++;
                }
            }
        }

        // LP: kernel 1..4 x stride 1..3 x ceil_mode, p in {2, 1, 3, 1.5}.
        float[] ps = [2f, 1f, 3f, 1.5f];
        i = 0;
        for (int k = 1; k <= 4; k++)
        {
            for (int s = 1; s <= 3; s++)
            {
                foreach (bool ceil in new[] { false, true })
                {
                    int kw = i % 5 == 2 ? k + 1 : k;
                    list.Add(new PoolCase("lp", i % 3 == 0 ? 2 : 1, channels[i % 4], 7 + (i % 5), 9 + (i % 4), k, kw, s, s, Ceil: ceil, P: ps[i % 4]));
                    i++;
                }
            }
        }

        // Hand-picked: the usual network pools and edge cases.
        list.AddRange(
        [
            new PoolCase("max", 1, 64, 16, 16, 3, 3, 2, 2, 1, 1),                   // ResNet stem pool
            new PoolCase("max", 3, 6, 28, 28, 2, 2, 2, 2),                          // LeNet
            new PoolCase("max", 1, 16, 13, 13, 3, 3, 2, 2, Ceil: true),             // AlexNet/SqueezeNet ceil
            new PoolCase("max", 1, 3, 9, 9, 3, 3, 1, 1, 1, 1, 3, 3),                // dilation 3 with padding
            new PoolCase("max", 1, 5, 5, 5, 5, 5, 1, 1),                            // 1x1 output
            new PoolCase("max", 2, 3, 10, 7, 4, 2, 3, 2, 2, 1, 1, 2, true),
            new PoolCase("avg", 1, 8, 7, 7, 7, 7, 1, 1),                            // global as a window
            new PoolCase("avg", 2, 5, 11, 9, 3, 3, 2, 2, 1, 1, Ceil: true, CountIncludePad: true),
            new PoolCase("avg", 2, 5, 11, 9, 3, 3, 2, 2, 1, 1, Ceil: true, CountIncludePad: false),
            new PoolCase("avg", 1, 3, 8, 8, 2, 2, 2, 2, 1, 1, CountIncludePad: false, Divisor: 2),
            new PoolCase("avg", 1, 17, 6, 10, 5, 3, 3, 1, 2, 1, Ceil: true, CountIncludePad: true, Divisor: 7),
            new PoolCase("lp", 1, 8, 12, 12, 2, 2, 2, 2, P: 2f),
            new PoolCase("lp", 1, 4, 9, 9, 3, 3, 2, 2, Ceil: true, P: 2f),
            new PoolCase("lp", 1, 4, 8, 8, 3, 2, 1, 2, P: 4f),
            new PoolCase("lp", 2, 5, 13, 11, 5, 5, 2, 3, Ceil: true, P: 2f),
            new PoolCase("lp", 1, 3, 12, 12, 5, 4, 1, 1, P: 1f),
        ]);

        // Max 3x3 stride 2 (the direct path of f32-pool2d-max3x3s2.h) at its edges: widths 1..40
        // across the vector width (8 / 16 outputs = 16 / 32 input columns), odd heights,
        // padding 0 / 1 per axis, ceil_mode, channels 1 / 3 / 17, batch 1 / 3.
        int[] widths = [1, 2, 3, 4, 5, 7, 15, 16, 17, 18, 19, 31, 32, 33, 34, 35, 39, 40];
        int[] chs = [1, 3, 17];
        for (int j = 0; j < widths.Length; j++)
        {
            list.Add(new PoolCase("max", j % 4 == 0 ? 3 : 1, chs[j % 3], 1 + 2 * (j % 6), widths[j], 3, 3, 2, 2,
                (j / 2) % 2, j % 2, Ceil: j % 3 == 1));
            list.Add(new PoolCase("max", 1, chs[(j + 1) % 3], 2 + j % 5, widths[j], 3, 3, 2, 2, 1, 1, Ceil: j % 2 == 0));
        }

        return list.Where(c => c.Out.H >= 1 && c.Out.W >= 1).DistinctBy(c => c.Name).ToList();
    }
}
