using System.Collections.Concurrent;
using CnnNative.Interop;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Oracle;

/// <summary>Functional.Conv2d against torch's F.pad + F.conv2d (+ activation), on every tested ISA.</summary>
[Collection(TorchCollection.Name)]
public sealed class ConvTests(ITestOutputHelper output)
{
    /// <summary>Accumulations of up to ~2000 products of O(1) values in float32.</summary>
    public static readonly Tolerance ConvTolerance = new(1e-4, 1e-4);

    private static readonly ConcurrentDictionary<string, OracleTensor> s_expected = new();

    /// <summary>One convolution shape of the sweep.</summary>
    public sealed record ConvCase(
        int N, int C, int H, int W, int O, int KH, int KW,
        int SH = 1, int SW = 1, int PT = 0, int PB = 0, int PL = 0, int PR = 0, int DH = 1, int DW = 1,
        int G = 1, bool Bias = true, Activation Act = Activation.None)
    {
        /// <summary>Unique, readable name (the theory row's id).</summary>
        public string Name =>
            $"n{N}-c{C}-{H}x{W}-o{O}-k{KH}x{KW}-s{SH}x{SW}-p{PT}.{PB}.{PL}.{PR}-d{DH}x{DW}-g{G}{(Bias ? "-bias" : "")}-{Act.ToString().ToLowerInvariant()}";

        /// <summary>The stride, padding, dilation and groups as options (a new instance).</summary>
        public Conv2dOptions Options => new()
        {
            Stride = (SH, SW),
            Padding = new Padding2d(PT, PB, PL, PR),
            Dilation = (DH, DW),
            Groups = G,
        };

        /// <summary>The case's convolution by torch (F.pad + F.conv2d + the activation) on float64 torch tensors.</summary>
        public TorchSharp.torch.Tensor Reference(TorchSharp.torch.Tensor x, TorchSharp.torch.Tensor w, TorchSharp.torch.Tensor? b) =>
            TorchOps.Conv2d(x, w, b, (SH, SW), (PT, PB, PL, PR), (DH, DW), G, Act);

        /// <summary>torch's output size (floor), or &lt; 1 if the shape is invalid.</summary>
        public (int H, int W) Out => (Size(H + PT + PB, KH, DH, SH), Size(W + PL + PR, KW, DW, SW));

        private static int Size(int padded, int k, int d, int s)
        {
            int span = padded - (d * (k - 1)) - 1;
            return span < 0 ? 0 : (span / s) + 1; // C# division truncates: check the sign first
        }
    }

    /// <summary>
    /// Shapes the native Winograd F(4x4, 3x3) path takes (3x3, stride 1, groups 1, at least 32 channels each
    /// way and 4 output tiles of 4x4 per call; f32-conv2d-winograd.c), both schedules (tile blocks, channel
    /// panels): channels that are not multiples of the 8/16-lane transform vectors or the 6/8-row and
    /// 16/32-column GEMM tiles, odd sizes (clipped edge tiles), padding 0..2 and asymmetric, batches whose tile
    /// blocks span images, every activation.
    /// </summary>
    public static IReadOnlyList<ConvCase> WinogradCases { get; } =
    [
        new(1, 32, 29, 31, 32, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
        new(2, 33, 13, 17, 40, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Sigmoid),
        new(1, 64, 23, 23, 70, 3, 3, Bias: false, Act: Activation.Relu6),
        new(1, 130, 22, 26, 65, 3, 3, PT: 2, PB: 2, PL: 2, PR: 2, Act: Activation.Tanh),
        new(2, 48, 15, 17, 36, 3, 3, PT: 0, PB: 1, PL: 2, PR: 0, Act: Activation.Relu),
        new(1, 96, 28, 28, 96, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1),
        new(2, 64, 14, 14, 64, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
        new(3, 40, 9, 13, 56, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Bias: false, Act: Activation.Sigmoid),
        new(2, 257, 13, 17, 33, 3, 3, PT: 1, PB: 2, PL: 2, PR: 1, Act: Activation.Relu6),
    ];

    /// <summary>The sweep: hand-picked shapes (network layers, corner cases) plus a generated grid.</summary>
    public static IReadOnlyList<ConvCase> Cases { get; } =
        [.. BuildCases(), .. WinogradCases, .. RandomCases(count: 300, seed: 20261122)];

    private static readonly Dictionary<string, ConvCase> s_byName = Cases.DistinctBy(c => c.Name).ToDictionary(c => c.Name);

    public static TheoryData<string, CnnIsa> Rows => Isas.Cross(s_byName.Keys);

    [Theory]
    [MemberData(nameof(Rows))]
    public void Conv2d_matches_torch(string name, CnnIsa isa)
    {
        ConvCase c = s_byName[name];
        using IDisposable _ = Isas.Use(isa);
        (Tensor x, Tensor w, Tensor? b) = Operands(name, c);
        using Tensor xd = x, wd = w;
        using Tensor? bd = b;
        Conv2dOptions options = c.Options;

        using Tensor y = Functional.Conv2d(x, w, b, options, c.Act);

        OracleErrors.AssertClose(output, "conv2d", isa, name, y, Expected(name, c, x, w, b), ConvTolerance);

        // The caller-owned-output overload writes every element and gives the same bits.
        using Tensor into = Tensor.FromArray(Enumerable.Repeat(float.NaN, (int)y.Length).ToArray(), y.Shape);
        Tensor returned = Functional.Conv2d(x, w, b, options, c.Act, into);
        Assert.Same(into, returned);
        Assert.Equal(y.ToArray(), into.ToArray());
    }

    /// <summary>The seeded operands of a case: input N(0, 1), weight and bias uniform in +-1/sqrt(fan-in); the caller disposes them.</summary>
    internal static (Tensor X, Tensor W, Tensor? B) Operands(string name, ConvCase c)
    {
        int seed = Seeds.Of(name);
        float bound = 1f / MathF.Sqrt(c.C / c.G * c.KH * c.KW);
        return (TestData.NormalTensor(seed, c.N, c.C, c.H, c.W),
            TestData.UniformTensor(seed + 1, -bound, bound, c.O, c.C / c.G, c.KH, c.KW),
            c.Bias ? TestData.UniformTensor(seed + 2, -bound, bound, c.O) : null);
    }

    /// <summary>torch's output for a case on its <see cref="Operands"/> (computed once per case name).</summary>
    internal static OracleTensor Expected(string name, ConvCase c, Tensor x, Tensor w, Tensor? b) =>
        s_expected.GetOrAdd(name, _ => TorchReference.Output(() =>
            c.Reference(Torch.From(x), Torch.From(w), TorchReference.FromOptional(b))));

    public static TheoryData<string, CnnIsa> SingleThreadRows => Isas.Cross(
        Cases.Where(c => c.C >= 32 || c.KH >= 7 || c.G > 1).Take(8).Select(c => c.Name));

    /// <summary>The same shapes with a thread budget of 1 (the default budget uses every hardware thread).</summary>
    [Theory]
    [MemberData(nameof(SingleThreadRows))]
    public void Conv2d_single_thread_matches_torch(string name, CnnIsa isa)
    {
        int threads = Cnn.NumThreads;
        Cnn.NumThreads = 1;
        try
        {
            Assert.Equal(1, Cnn.NumThreads);
            Conv2d_matches_torch(name, isa);
        }
        finally
        {
            Cnn.NumThreads = threads;
        }
    }

    public static TheoryData<string, CnnIsa> WinogradSingleThreadRows => Isas.Cross(WinogradCases.Select(c => c.Name));

    /// <summary>The Winograd shapes on 1 thread too (the default budget splits their tile blocks across threads).</summary>
    [Theory]
    [MemberData(nameof(WinogradSingleThreadRows))]
    public void Conv2d_winograd_single_thread_matches_torch(string name, CnnIsa isa) =>
        Conv2d_single_thread_matches_torch(name, isa);

    /// <summary>
    /// A seeded random sweep (the same every run): batch 1..3, channels per group 1..9, groups 1 / 2..4 /
    /// depthwise (x1, x2), rectangular kernels 1..7, stride 1..3, dilation 1..3 and padding 0..3 per side
    /// independently, sizes 1..20, bias and activation random; kept when valid and under 2M MACs.
    /// </summary>
    private static List<ConvCase> RandomCases(int count, int seed)
    {
        var rng = new Random(seed);
        var acts = Enum.GetValues<Activation>().Where(a => a <= Activation.Relu6).ToArray(); // the new ones: NewOpsActivationTests
        var list = new List<ConvCase>();
        while (list.Count < count)
        {
            int kind = rng.Next(10);
            int g, c, o;
            if (kind < 6)
            {
                g = 1;
                c = rng.Next(1, 20);
                o = rng.Next(1, 20);
            }
            else if (kind < 8)
            {
                g = rng.Next(2, 5);
                c = g * rng.Next(1, 6);
                o = g * rng.Next(1, 6);
            }
            else
            {
                g = rng.Next(1, 33);
                c = g;
                o = g * rng.Next(1, 3);
            }

            int kh = rng.Next(1, 8), kw = rng.Next(10) < 7 ? kh : rng.Next(1, 8);
            int sh = rng.Next(1, 4), sw = rng.Next(10) < 7 ? sh : rng.Next(1, 4);
            int dh = rng.Next(10) < 6 ? 1 : rng.Next(2, 4), dw = rng.Next(10) < 7 ? dh : rng.Next(1, 4);
            var cc = new ConvCase(
                N: rng.Next(1, 4), C: c, H: rng.Next(1, 21), W: rng.Next(1, 21), O: o, KH: kh, KW: kw, SH: sh, SW: sw,
                PT: rng.Next(4), PB: rng.Next(4), PL: rng.Next(4), PR: rng.Next(4), DH: dh, DW: dw, G: g,
                Bias: rng.Next(2) == 0, Act: acts[rng.Next(acts.Length)]);
            (int oh, int ow) = cc.Out;
            long macs = (long)cc.N * o * oh * ow * (c / g) * kh * kw;
            if (oh >= 1 && ow >= 1 && macs <= 2_000_000)
            {
                list.Add(cc);
            }
        }

        return list;
    }

    private static List<ConvCase> BuildCases()
    {
        var act = new[] { Activation.None, Activation.Relu, Activation.Sigmoid, Activation.Tanh };
        var list = new List<ConvCase>
        {
            // 1x1
            new(1, 3, 9, 9, 5, 1, 1),
            new(2, 17, 7, 5, 8, 1, 1, SH: 2, SW: 2, Bias: false, Act: Activation.Relu),
            new(1, 8, 6, 6, 16, 1, 1, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Sigmoid),
            // 3x3, stride 1..3, padding 0..3
            new(1, 3, 13, 11, 8, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(2, 16, 15, 15, 32, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Tanh),
            new(1, 5, 17, 17, 7, 3, 3, SH: 3, SW: 3, Bias: false),
            new(1, 5, 7, 9, 3, 3, 3, PT: 2, PB: 2, PL: 2, PR: 2, Act: Activation.Sigmoid),
            new(1, 3, 5, 5, 4, 3, 3, PT: 3, PB: 3, PL: 3, PR: 3),
            new(1, 3, 9, 9, 4, 3, 3, SW: 2),
            new(1, 5, 14, 11, 6, 3, 3, SH: 3, SW: 2, PT: 1, PB: 1, PL: 2, PR: 2, Act: Activation.Relu),
            // asymmetric padding (even kernels "same", and arbitrary)
            new(1, 4, 8, 8, 6, 2, 2, PB: 1, PR: 1, Act: Activation.Relu),
            new(2, 3, 9, 10, 5, 3, 3, PT: 1, PB: 2, PL: 0, PR: 3, Act: Activation.Tanh),
            new(1, 6, 11, 13, 8, 5, 5, SH: 2, SW: 2, PT: 3, PB: 0, PL: 2, PR: 1),
            new(1, 5, 9, 7, 5, 4, 4, PT: 1, PB: 2, PL: 2, PR: 1, Bias: false, Act: Activation.Sigmoid),
            // 5x5, 7x7, 11x11 stride 4 (LeNet, ResNet and AlexNet stems)
            new(1, 1, 28, 28, 6, 5, 5, PT: 2, PB: 2, PL: 2, PR: 2, Act: Activation.Relu),
            new(3, 6, 14, 14, 16, 5, 5, Act: Activation.Relu),
            new(1, 3, 33, 31, 16, 7, 7, SH: 2, SW: 2, PT: 3, PB: 3, PL: 3, PR: 3, Bias: false, Act: Activation.Relu),
            new(1, 17, 11, 11, 9, 7, 7),
            new(1, 3, 67, 67, 16, 11, 11, SH: 4, SW: 4, PT: 2, PB: 2, PL: 2, PR: 2, Act: Activation.Relu),
            new(2, 3, 43, 47, 8, 11, 11, SH: 4, SW: 4),
            // dilation 1..3
            new(1, 8, 15, 15, 8, 3, 3, PT: 2, PB: 2, PL: 2, PR: 2, DH: 2, DW: 2, Act: Activation.Relu),
            new(1, 5, 17, 13, 7, 3, 3, PT: 3, PB: 3, PL: 3, PR: 3, DH: 3, DW: 3),
            new(1, 4, 16, 16, 6, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, DH: 2, DW: 3, Act: Activation.Sigmoid),
            new(2, 3, 19, 19, 5, 5, 5, SH: 2, SW: 2, PT: 4, PB: 4, PL: 4, PR: 4, DH: 2, DW: 2, Act: Activation.Tanh),
            // groups 2/3 and depthwise (with and without channel multiplier)
            new(1, 6, 9, 9, 10, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, G: 2, Act: Activation.Relu),
            new(2, 16, 8, 8, 16, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, G: 2, Bias: false),
            new(1, 9, 7, 7, 6, 1, 1, G: 3),
            new(1, 17, 13, 13, 17, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, G: 17, Act: Activation.Relu),
            new(2, 32, 15, 15, 32, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, G: 32, Act: Activation.Relu),
            new(1, 5, 9, 9, 10, 5, 5, PT: 2, PB: 2, PL: 2, PR: 2, G: 5, Act: Activation.Tanh),
            new(1, 8, 12, 12, 8, 3, 3, PT: 2, PB: 2, PL: 2, PR: 2, DH: 2, DW: 2, G: 8, Bias: false),
            new(1, 3, 10, 7, 3, 3, 3, SH: 2, SW: 1, PT: 0, PB: 1, PL: 1, PR: 0, G: 3, Act: Activation.Sigmoid),
            // rectangular kernels, a 1x1 output, wide channel counts, batches
            new(1, 3, 10, 12, 4, 3, 5, PT: 1, PB: 1, PL: 2, PR: 2),
            new(1, 5, 9, 16, 5, 1, 7, PL: 3, PR: 3, Act: Activation.Relu),
            new(1, 5, 16, 9, 5, 7, 1, PT: 3, PB: 3, Act: Activation.Tanh),
            new(1, 3, 5, 5, 4, 5, 5),
            new(1, 64, 8, 8, 64, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(1, 17, 9, 9, 33, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Sigmoid),
            new(4, 3, 8, 8, 8, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Tanh),
            new(1, 1, 1, 1, 1, 1, 1),
            new(3, 2, 1, 9, 3, 1, 3, PL: 1, PR: 1, Act: Activation.Relu),
            // Larger layers: several GEMM tiles in every direction, work split across threads.
            new(1, 64, 28, 28, 64, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(2, 32, 23, 19, 48, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, Bias: false),
            new(1, 128, 7, 7, 100, 1, 1, Act: Activation.Sigmoid),
            new(1, 96, 17, 17, 96, 5, 5, PT: 2, PB: 2, PL: 2, PR: 2, G: 96, Act: Activation.Relu),
            // Strided implicit GEMM (input split by stride phase, padded band per tile): several
            // tiles ending mid-row, stems, dilation, batch 3, channels not a multiple of 8/16/32.
            new(3, 5, 70, 66, 37, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(1, 3, 80, 80, 20, 7, 7, SH: 2, SW: 2, PT: 3, PB: 3, PL: 3, PR: 3, Act: Activation.Relu),
            new(2, 3, 99, 95, 24, 11, 11, SH: 4, SW: 4, PT: 2, PB: 1, PL: 0, PR: 3),
            new(1, 6, 60, 58, 17, 3, 3, SH: 2, SW: 2, PT: 2, PB: 2, PL: 2, PR: 2, DH: 2, DW: 2, Act: Activation.Tanh),
            new(1, 4, 50, 61, 9, 5, 3, SH: 3, SW: 2, PT: 1, PB: 0, PL: 1, PR: 2, Bias: false),
            new(3, 7, 40, 37, 13, 5, 5, PT: 2, PB: 2, PL: 2, PR: 2, Act: Activation.Sigmoid),
            // im2col on small images (row-major K x tile panels), batch 1 and 3
            new(1, 64, 7, 7, 40, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(3, 40, 9, 9, 35, 3, 3),
            // im2col tiled across the batch (small images): tiles spanning images, groups
            new(5, 64, 7, 7, 20, 3, 3, PT: 1, PB: 1, PL: 1, PR: 1, Act: Activation.Relu),
            new(2, 17, 5, 5, 19, 3, 3, SH: 2, SW: 2, PT: 1, PB: 1, PL: 1, PR: 1),
            new(3, 12, 6, 6, 18, 3, 3, G: 3, Act: Activation.Tanh),
        };

        // Generated grid: kernel {1,3,5} x stride {1,2,3} x dilation {1,2}; the other parameters
        // (channels 3/5/17/8, odd sizes, padding 0..3 and asymmetric, bias, activation, batch) rotate.
        int[] channels = [3, 5, 17, 8];
        int[] outs = [5, 8, 17, 4];
        int i = 0;
        foreach (int k in new[] { 1, 3, 5 })
        {
            foreach (int s in new[] { 1, 2, 3 })
            {
                foreach (int d in new[] { 1, 2 })
                {
                    int p = i % 4;
                    bool asym = i % 2 == 1;
                    var c = new ConvCase(
                        N: i % 5 == 0 ? 2 : 1, C: channels[i % 4], H: 11 + (i % 5), W: 9 + ((i % 3) * 2), O: outs[(i / 2) % 4],
                        KH: k, KW: k, SH: s, SW: s, PT: p, PB: asym ? (p + 1) % 4 : p, PL: asym ? (p + 2) % 4 : p, PR: p,
                        DH: d, DW: d, G: 1, Bias: i % 3 != 0, Act: act[i % 4]);
                    i++;
                    if (c.Out.H >= 1 && c.Out.W >= 1)
                    {
                        list.Add(c);
                    }
                }
            }
        }

        // Grouped grid: groups 2 / depthwise / depthwise x2 x kernel {3,5} x stride {1,2} x dilation {1,3}.
        i = 0;
        foreach (int g in new[] { 2, 0, -2 })
        {
            foreach (int k in new[] { 3, 5 })
            {
                foreach (int s in new[] { 1, 2 })
                {
                    foreach (int d in new[] { 1, 3 })
                    {
                        int ch = g == 2 ? 10 : (i % 2 == 0 ? 17 : 24);
                        int groups = g == 2 ? 2 : ch;
                        int o = g == 2 ? 6 : g == 0 ? ch : 2 * ch;
                        int p = (d * (k - 1)) / 2;
                        var c = new ConvCase(
                            N: i % 4 == 0 ? 2 : 1, C: ch, H: 13 + (i % 3), W: 12 + (i % 4), O: o, KH: k, KW: k, SH: s, SW: s,
                            PT: p, PB: i % 3 == 0 ? p + 1 : p, PL: p, PR: p, DH: d, DW: d, G: groups, Bias: i % 2 == 1, Act: act[(i + 1) % 4]);
                        i++;
                        if (c.Out.H >= 1 && c.Out.W >= 1)
                        {
                            list.Add(c);
                        }
                    }
                }
            }
        }

        // Depthwise 3x3 (the direct stride-1 path of f32-dwconv2d-3x3.h, and stride 2) at its
        // edges: widths 1..40 across the vector widths (8 / 16, pairs of vectors), odd heights,
        // padding 0 / 1 and asymmetric, channels 1 / 3 / 17, multiplier 2, batch 1 / 3, ReLU6.
        int[] widths = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 34, 40];
        int[] dwCh = [1, 3, 17];
        var dwAct = new[] { Activation.Relu6, Activation.None, Activation.Relu, Activation.Sigmoid };
        for (int j = 0; j < widths.Length; j++)
        {
            foreach (int s in new[] { 1, 2 })
            {
                int ch = dwCh[j % 3], p = (j + s) % 3 == 0 ? 0 : 1;
                var c = new ConvCase(
                    N: j % 4 == 0 ? 3 : 1, C: ch, H: 1 + 2 * (j % 5) + (s == 2 ? j % 2 : 0), W: widths[j],
                    O: j % 5 == 4 ? 2 * ch : ch, KH: 3, KW: 3, SH: s, SW: s, PT: p, PB: j % 4 == 3 ? 1 - p : p,
                    PL: p, PR: j % 6 == 5 ? 1 - p : p, G: ch, Bias: j % 2 == 0, Act: dwAct[(j + s) % 4]);
                if (c.Out.H >= 1 && c.Out.W >= 1)
                {
                    list.Add(c);
                }
            }
        }

        return list.DistinctBy(c => c.Name).ToList();
    }
}
