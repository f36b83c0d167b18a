using System.IO.Compression;
using CnnNative.Interop;
using CnnNative.IO;
using CnnNative.Nn;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests;

/// <summary>ISA switching, per-thread contexts, modules vs Functional, IDX files. No oracle needed.</summary>
public sealed class RuntimeTests(ITestOutputHelper output)
{
    private static float[] RunConv(CnnIsa isa, int threads = 0)
    {
        using IDisposable _ = Isas.Use(isa);
        int previous = Cnn.NumThreads;
        Cnn.NumThreads = threads;
        try
        {
            using Tensor x = TestData.NormalTensor(11, 2, 24, 17, 15);
            using Tensor w = TestData.UniformTensor(12, -0.1, 0.1, 40, 24, 3, 3);
            using Tensor b = TestData.UniformTensor(13, -0.1, 0.1, 40);
            using Tensor y = Functional.Conv2d(x, w, b, new Conv2dOptions { Padding = Padding2d.Symmetric(1) }, Activation.Tanh);
            return y.ToArray();
        }
        finally
        {
            Cnn.NumThreads = previous;
        }
    }

    [Fact]
    public void Isa_setting_really_switches_kernels_and_is_per_thread()
    {
        Assert.True(Cnn.IsSupported(CnnIsa.Reference));
        Assert.True(Cnn.IsSupported(CnnIsa.Auto));
        Assert.True(Cnn.HardwareThreads >= 1);
        Assert.Matches(@"^\d+\.\d+\.\d+$", Cnn.Version);

        float[] reference = RunConv(CnnIsa.Reference);
        float[] avx2 = RunConv(CnnIsa.Avx2);
        int differing = reference.Zip(avx2).Count(p => p.First != p.Second);
        output.WriteLine($"{differing} of {reference.Length} outputs differ in the last bits between Reference and Avx2");
        Assert.True(differing > 0, "Reference and Avx2 gave bit-identical convolutions: is the ISA switch taking effect?");
        Assert.Equal(reference.Length, avx2.Length);

        // Per thread: another thread's setting does not leak into this one.
        using IDisposable _ = Isas.Use(CnnIsa.Reference);
        var t = new Thread(() => Cnn.Isa = CnnIsa.Avx2);
        t.Start();
        t.Join();
        Assert.Equal(CnnIsa.Reference, Cnn.Isa);
    }

    [Fact]
    public void Reference_and_avx2_run_in_parallel_threads_deterministically()
    {
        float[] reference = RunConv(CnnIsa.Reference);
        float[] avx2 = RunConv(CnnIsa.Avx2);
        float[] avx2Single = RunConv(CnnIsa.Avx2, threads: 1);
        Assert.Equal(avx2, avx2Single); // the thread split does not change any bit

        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            try
            {
                CnnIsa isa = i % 2 == 0 ? CnnIsa.Reference : CnnIsa.Avx2;
                float[] expected = i % 2 == 0 ? reference : avx2;
                for (int k = 0; k < 10; k++)
                {
                    if (!RunConv(isa, threads: k % 3).AsSpan().SequenceEqual(expected))
                    {
                        errors.Add($"thread {i} ({isa}) iteration {k}: result differs");
                    }
                }
            }
            catch (Exception e)
            {
                errors.Add($"thread {i}: {e}");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(errors);
    }

    [Fact]
    public void Modules_forward_equals_functional()
    {
        using Tensor x = TestData.NormalTensor(21, 2, 4, 9, 8);
        void Same(Module m, Tensor expected)
        {
            using (m)
            using (expected)
            using (Tensor y = m.Forward(x))
            {
                Assert.Equal(expected.Shape, y.Shape);
                Assert.Equal(expected.ToArray(), y.ToArray());
            }
        }

        Same(new MaxPool2d(3, stride: 2, padding: 1, dilation: 1, ceilMode: true),
            Functional.MaxPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1), CeilMode = true }));
        Same(new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: null),
            Functional.AvgPool2d(x, new Pool2dOptions(3) { Stride = (2, 2), Padding = (1, 1), CeilMode = true, CountIncludePad = false }));
        Same(new AvgPool2d(2, divisorOverride: 3), Functional.AvgPool2d(x, new Pool2dOptions(2) { DivisorOverride = 3 }));
        Same(new LPPool2d(3f, 2, stride: 1), Functional.LpPool2d(x, new Pool2dOptions(2) { Stride = (1, 1), NormType = 3f }));
        Same(new AdaptiveAvgPool2d(1), Functional.GlobalAvgPool2d(x));
        Same(new ReLU(), Functional.Relu(x));
        Same(new Sigmoid(), Functional.Sigmoid(x));
        Same(new Tanh(), Functional.Tanh(x));
        Same(new Softmax(1), Functional.Softmax(x, 1));
        Same(new LogSoftmax(-1), Functional.LogSoftmax(x, -1));
        Same(new Identity(), x.Clone());
        var dropout = new Dropout(0.5);
        dropout.Eval();
        Same(dropout, x.Clone());
        using (var flatten = new Flatten())
        using (Tensor f = flatten.Forward(x))
        {
            Assert.Equal(new[] { 2, 4 * 9 * 8 }, f.Shape);
            Assert.Equal(x.ToArray(), f.ToArray());
        }

        Cnn.ManualSeed(5);
        var conv = new Nn.Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2, activation: Activation.Relu);
        Same(conv, Functional.Conv2d(x, conv.Weight, conv.Bias, conv.Options, Activation.Relu));
        var bn = new Nn.BatchNorm2d(4);
        bn.RunningMean!.CopyFrom([0.1f, 0.2f, -0.3f, 0.4f]);
        bn.RunningVar!.CopyFrom([1.5f, 0.5f, 2f, 1f]);
        bn.Eval();
        Same(bn, Functional.BatchNorm2d(x, bn.RunningMean, bn.RunningVar, bn.Weight, bn.Bias, 1e-5f));
    }

    [Fact]
    public void Module_initialisation_is_seeded_and_torch_like()
    {
        Cnn.ManualSeed(42);
        using var a = new Nn.Conv2d(16, 8, 3);
        Cnn.ManualSeed(42);
        using var b = new Nn.Conv2d(16, 8, 3);
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        Assert.Equal(a.Bias!.ToArray(), b.Bias!.ToArray());

        // kaiming_uniform(a = sqrt(5)) gives bound 1/sqrt(fan_in) for weights, as for the bias.
        float bound = 1f / MathF.Sqrt(16 * 3 * 3);
        Assert.All(a.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(a.Bias.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(a.Weight.ToArray().Max() > bound * 0.9f, "weights do not span their range");
        using var lin = new Nn.Linear(100, 7);
        Assert.All(lin.Weight.ToArray(), v => Assert.InRange(v, -0.1f, 0.1f));
    }

    [Fact]
    public void Idx_images_and_labels_plain_and_gzip()
    {
        byte[] pixels = Enumerable.Range(0, 3 * 4 * 5).Select(i => (byte)(i * 4)).ToArray();
        byte[] images = IdxFiles.Bytes(Idx.ImagesMagic, [3, 4, 5], pixels);
        string plain = TestPaths.NewScratchFile("images", ".idx");
        File.WriteAllBytes(plain, images);
        string gz = TestPaths.NewScratchFile("images", ".idx.gz");
        using (var f = File.Create(gz))
        using (var z = new GZipStream(f, CompressionLevel.Fastest))
        {
            z.Write(images);
        }

        foreach (string path in new[] { plain, gz })
        {
            IdxImages loaded = Idx.LoadImages(path);
            Assert.Equal((3, 4, 5), (loaded.Count, loaded.Rows, loaded.Cols));
            Assert.Equal(pixels.Select(p => p / 255f).ToArray(), loaded.Data);
            using Tensor t = loaded.ToTensor(1, 2);
            Assert.Equal(new[] { 2, 1, 4, 5 }, t.Shape);
            Assert.Equal(loaded.Data.Skip(20).Take(40).ToArray(), t.ToArray());
        }

        string labels = TestPaths.NewScratchFile("labels", ".idx");
        File.WriteAllBytes(labels, IdxFiles.Bytes(Idx.LabelsMagic, [4], [7, 0, 9, 3]));
        Assert.Equal(new byte[] { 7, 0, 9, 3 }, Idx.LoadLabels(labels));

        // Wrong magic, truncated data, trailing bytes, missing file.
        Assert.Contains("looks like an IDX labels file", Assert.Throws<InvalidDataException>(() => Idx.LoadImages(labels)).Message);
        string truncated = TestPaths.NewScratchFile("trunc", ".idx");
        File.WriteAllBytes(truncated, images[..^7]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Idx.LoadImages(truncated)).Message);
        string trailing = TestPaths.NewScratchFile("trail", ".idx");
        File.WriteAllBytes(trailing, [.. images, 1, 2]);
        Assert.Contains("unexpected bytes", Assert.Throws<InvalidDataException>(() => Idx.LoadImages(trailing)).Message);
        Assert.Throws<FileNotFoundException>(() => Idx.LoadLabels(Path.Combine(TestPaths.ScratchDir, "none.idx")));
    }
}
