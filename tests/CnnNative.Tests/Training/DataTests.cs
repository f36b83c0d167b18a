using System.IO.Compression;
using CnnNative.Data;
using CnnNative.IO;
using CnnNative.Tests.Infrastructure;

namespace CnnNative.Tests.Training;

/// <summary>IDX reader errors, DataLoader coverage and determinism, normalisation fitted on training data only.</summary>
public sealed class DataTests(ITestOutputHelper output)
{
    private static string Write(string stem, byte[] bytes, bool gzip = false)
    {
        string path = TestPaths.NewScratchFile(stem, gzip ? ".gz" : ".idx");
        if (gzip)
        {
            using var f = File.Create(path);
            using var z = new GZipStream(f, CompressionLevel.Fastest);
            z.Write(bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }

        return path;
    }

    private void ExpectInvalid(Action load, string path, params string[] mentions)
    {
        var e = Assert.Throws<InvalidDataException>(load);
        output.WriteLine(e.Message);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        foreach (string m in mentions)
        {
            Assert.Contains(m, e.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Idx_reader_errors_are_clear_InvalidDataExceptions()
    {
        byte[] pixels = new byte[2 * 3 * 3];
        foreach (bool gzip in new[] { false, true })
        {
            string badMagic = Write("magic", IdxFiles.Bytes(0x12345678, [2, 3, 3], pixels), gzip);
            ExpectInvalid(() => Idx.LoadImages(badMagic), badMagic, "magic", "0x12345678");
            ExpectInvalid(() => Idx.LoadLabels(badMagic), badMagic, "magic");

            string header = Write("header", IdxFiles.Bytes(Idx.ImagesMagic, [2, 3, 3], pixels)[..9], gzip);
            ExpectInvalid(() => Idx.LoadImages(header), header, "truncated");

            string tiny = Write("tiny", [0, 0], gzip);
            ExpectInvalid(() => Idx.LoadImages(tiny), tiny, "truncated");

            string data = Write("data", IdxFiles.Bytes(Idx.LabelsMagic, [10], [1, 2, 3]), gzip);
            ExpectInvalid(() => Idx.LoadLabels(data), data, "truncated");

            string zeroDim = Write("zerodim", IdxFiles.Bytes(Idx.ImagesMagic, [2, 0, 3], []), gzip);
            ExpectInvalid(() => Idx.LoadImages(zeroDim), zeroDim, "dimension");
        }

        // Corrupt gzip: the gzip magic with garbage after it.
        string corrupt = TestPaths.NewScratchFile("corrupt", ".gz");
        File.WriteAllBytes(corrupt, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
        Assert.ThrowsAny<InvalidDataException>(() => Idx.LoadImages(corrupt));
    }

    [Fact]
    public void Image_and_label_count_mismatch_is_reported_with_both_counts()
    {
        string dir = Path.Combine(TestPaths.ScratchDir, "fmnist-mismatch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"), IdxFiles.Bytes(Idx.ImagesMagic, [3, 2, 2], new byte[12]));
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), IdxFiles.Bytes(Idx.LabelsMagic, [4], [1, 2, 3, 4]));
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.LoadTrain(dir));
        output.WriteLine(e.Message);
        Assert.Contains("3 images", e.Message, StringComparison.Ordinal);
        Assert.Contains("4 labels", e.Message, StringComparison.Ordinal);

        // And a loader over mismatched arrays is refused.
        Assert.ThrowsAny<ArgumentException>(() => new DataLoader(new float[3 * 4], [1, 2, 3, 4], (1, 2, 2), 2));
        Assert.ThrowsAny<ArgumentException>(() => new DataLoader(new float[13], [1, 2, 3], (1, 2, 2), 2));
        Assert.ThrowsAny<ArgumentException>(() => new DataLoader(new float[12], [1, -2, 3], (1, 2, 2), 2));
        Assert.ThrowsAny<ArgumentException>(() => new DataLoader(new float[12], [1, 2, 3], (1, 2, 2), 0));
    }

    /// <summary>Sample i's pixels are all i (so a batch says which samples it holds), label i % 10.</summary>
    private static (float[] Images, int[] Labels) Indexed(int count, int sampleSize)
    {
        var images = new float[count * sampleSize];
        for (int i = 0; i < count; i++)
        {
            Array.Fill(images, i, i * sampleSize, sampleSize);
        }

        return (images, Enumerable.Range(0, count).Select(i => i % 10).ToArray());
    }

    private static List<(int[] Samples, int[] Labels)> Epoch(DataLoader loader, int sampleSize)
    {
        var batches = new List<(int[], int[])>();
        foreach (Batch batch in loader)
        {
            float[] v = batch.Input.ToArray();
            Assert.Equal(batch.Count, batch.Input.Shape[0]);
            int[] samples = Enumerable.Range(0, batch.Count).Select(b => (int)v[b * sampleSize]).ToArray();
            for (int b = 0; b < batch.Count; b++)
            {
                Assert.All(v.AsSpan(b * sampleSize, sampleSize).ToArray(), x => Assert.Equal(samples[b], x));
                Assert.Equal(samples[b], batch.Indices.Span[b]);
            }

            batches.Add((samples, batch.Labels.ToArray()));
        }

        return batches;
    }

    [Theory]
    [InlineData(23, 5, false)]
    [InlineData(23, 5, true)]
    [InlineData(20, 5, false)]
    [InlineData(7, 10, false)]
    [InlineData(7, 10, true)]
    public void DataLoader_visits_every_sample_once_per_epoch_with_matching_labels(int count, int batchSize, bool dropLast)
    {
        const int sampleSize = 2 * 3 * 3;
        var (images, labels) = Indexed(count, sampleSize);
        using var loader = new DataLoader(images, labels, (2, 3, 3), batchSize, shuffle: true, seed: 5, dropLast: dropLast);
        int expectedBatches = dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;
        Assert.Equal(expectedBatches, loader.BatchCount);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = Epoch(loader, sampleSize);
            Assert.Equal(expectedBatches, batches.Count);
            int[] seen = batches.SelectMany(b => b.Samples).ToArray();
            Assert.All(batches.Take(count / batchSize), b => Assert.Equal(batchSize, b.Samples.Length));
            Assert.Equal(seen.Length, seen.Distinct().Count());
            if (!dropLast)
            {
                Assert.Equal(Enumerable.Range(0, count), seen.Order());
            }
            else
            {
                Assert.Equal((count / batchSize) * batchSize, seen.Length);
            }

            foreach (var (samples, batchLabels) in batches)
            {
                Assert.Equal(samples.Select(s => s % 10), batchLabels);
            }
        }
    }

    [Fact]
    public void DataLoader_order_is_deterministic_per_seed_and_epoch()
    {
        const int count = 50, sampleSize = 4;
        var (images, labels) = Indexed(count, sampleSize);
        using var a = new DataLoader(images, labels, (1, 2, 2), 8, shuffle: true, seed: 11);
        using var b = new DataLoader(images, labels, (1, 2, 2), 8, shuffle: true, seed: 11);
        using var c = new DataLoader(images, labels, (1, 2, 2), 8, shuffle: true, seed: 12);
        using var plain = new DataLoader(images, labels, (1, 2, 2), 8);

        var a0 = Epoch(a, sampleSize).SelectMany(x => x.Samples).ToArray();
        var a1 = Epoch(a, sampleSize).SelectMany(x => x.Samples).ToArray();
        var b0 = Epoch(b, sampleSize).SelectMany(x => x.Samples).ToArray();
        var b1 = Epoch(b, sampleSize).SelectMany(x => x.Samples).ToArray();
        var c0 = Epoch(c, sampleSize).SelectMany(x => x.Samples).ToArray();
        Assert.Equal(a0, b0);
        Assert.Equal(a1, b1);
        Assert.NotEqual(a0, a1);
        Assert.NotEqual(a0, c0);
        Assert.Equal(a0, a.EpochOrder(0));
        Assert.Equal(a1, a.EpochOrder(1));
        Assert.Equal(Enumerable.Range(0, count), Epoch(plain, sampleSize).SelectMany(x => x.Samples));

        // Replaying an epoch number gives the same batches.
        a.Epoch = 1;
        Assert.Equal(a1, Epoch(a, sampleSize).SelectMany(x => x.Samples));
    }

    [Fact]
    public void Normalization_is_fitted_on_the_training_split_only()
    {
        // 40 samples of 2 channels: the last 10 (which a 25% split can put in validation) are far off.
        const int count = 40, c = 2, h = 3, w = 3, sampleSize = c * h * w;
        float[] images = TestData.Normal(31, count * sampleSize);
        int[] labels = Enumerable.Range(0, count).Select(i => i % 4).ToArray();
        for (int i = 30 * sampleSize; i < images.Length; i++)
        {
            images[i] = (images[i] * 10) + 50;
        }

        DataSplit split = ValidationSplit.Split(images, labels, (c, h, w), 0.25, seed: 3);
        Assert.Equal(30, split.TrainLabels.Length);
        Assert.Equal(10, split.ValidationLabels.Length);
        Assert.Empty(split.TrainIndices.Intersect(split.ValidationIndices));
        Normalization norm = Normalization.Fit(split.TrainImages, (c, h, w));

        // The expected statistics over the training samples only (double, population std).
        for (int ch = 0; ch < c; ch++)
        {
            var values = new List<double>();
            foreach (int i in split.TrainIndices)
            {
                values.AddRange(images.AsSpan((i * sampleSize) + (ch * h * w), h * w).ToArray().Select(v => (double)v));
            }

            double mean = values.Average();
            double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            output.WriteLine($"channel {ch}: train mean {mean:0.0000} std {std:0.0000}; fitted {norm.Mean[ch]:0.0000} {norm.Std[ch]:0.0000}");
            Assert.Equal(mean, norm.Mean[ch], 1e-4);
            Assert.Equal(std, norm.Std[ch], 1e-4);
        }

        Normalization all = Normalization.Fit(images, (c, h, w));
        Assert.NotEqual(all.Mean[0], norm.Mean[0]);

        // A validation loader with the training normalisation: (x - train mean) / train std.
        using var loader = new DataLoader(split.ValidationImages, split.ValidationLabels, (c, h, w), 4, normalization: norm);
        int k = 0;
        foreach (Batch batch in loader)
        {
            float[] v = batch.Input.ToArray();
            for (int j = 0; j < v.Length; j++, k++)
            {
                int ch = (k / (h * w)) % c;
                float raw = split.ValidationImages[k];
                Assert.Equal((raw - norm.Mean[ch]) / norm.Std[ch], v[j], 1e-4f);
            }
        }

        Assert.Equal(split.ValidationImages.Length, k);
    }

    [Fact]
    public void Augmentation_is_deterministic_per_seed_epoch_and_batch_and_can_be_switched_off()
    {
        const int count = 12, sampleSize = 1 * 6 * 6;
        float[] images = TestData.Uniform(41, count * sampleSize, 0.5, 1.0);
        int[] labels = Enumerable.Range(0, count).ToArray();
        float[][] Run(bool enabled, int augSeed)
        {
            using var loader = new DataLoader(images, labels, (1, 6, 6), 5, shuffle: true, seed: 2,
                augmentation: new Augmentation(maxTranslation: 2, horizontalFlip: true, seed: augSeed));
            loader.AugmentationEnabled = enabled;
            return loader.Select(b => b.Input.ToArray()).ToArray();
        }

        float[][] a = Run(true, 9), b = Run(true, 9), c = Run(true, 10), off = Run(false, 9);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i], b[i]);
        }

        Assert.Contains(Enumerable.Range(0, a.Length), i => !a[i].SequenceEqual(c[i]));
        Assert.Contains(Enumerable.Range(0, a.Length), i => !a[i].SequenceEqual(off[i]));

        // Switched off: exactly the raw samples in the epoch's order.
        using var plain = new DataLoader(images, labels, (1, 6, 6), 5, shuffle: true, seed: 2);
        float[][] raw = plain.Select(x => x.Input.ToArray()).ToArray();
        for (int i = 0; i < raw.Length; i++)
        {
            Assert.Equal(raw[i], off[i]);
        }

        // Translation fills with 0 and flips only mirror: every augmented value is 0 or one of the sample's own.
        Assert.All(a.SelectMany(v => v), v => Assert.True(v == 0f || (v >= 0.5f && v < 1f), $"unexpected augmented value {v}"));
    }

    [Fact]
    public void EarlyStopping_keeps_and_restores_the_best_weights()
    {
        using var model = new CnnNative.Nn.Linear(3, 2);
        using var stopper = new EarlyStopping(patience: 1);
        float[] best = [];
        float[] metrics = [0.9f, 0.5f, 0.6f, 0.7f];
        bool stopped = false;
        for (int epoch = 0; epoch < metrics.Length && !stopped; epoch++)
        {
            model.Weight.CopyFrom(Enumerable.Repeat((float)epoch, 6).ToArray());
            if (epoch == 1)
            {
                best = model.Weight.ToArray();
            }

            stopped = stopper.Step(metrics[epoch], model);
        }

        Assert.True(stopped);
        Assert.Equal(0.5f, stopper.BestMetric);
        Assert.Equal(1, stopper.BestEpoch);
        Assert.True(stopper.RestoreBest(model));
        Assert.Equal(best, model.Weight.ToArray());
    }
}
