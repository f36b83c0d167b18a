using CnnNative.Data;
using CnnNative.Tests.Infrastructure;
using CnnNative.Vision;
using SkiaSharp;

namespace CnnNative.Tests.Data;

/// <summary>The threaded image loader, ImageFolder scanning/decoding errors and the random transforms' contracts.</summary>
public sealed class ImageDataLoaderTests(ITestOutputHelper output)
{
    /// <summary>Images whose pixels encode their index (so a batch shows which samples it holds); sample <see cref="Broken"/> fails.</summary>
    private sealed class SyntheticImages(int count, int classes, int broken = -1) : IImageDataset
    {
        public int Broken { get; } = broken;

        public int Count => count;

        public int ClassCount => classes;

        public int GetLabel(int index) => index % classes;

        public PlanarImage Load(int index)
        {
            if (index == Broken)
            {
                throw new InvalidDataException($"sample {index} is broken");
            }

            var image = new PlanarImage(3, 20 + index % 5, 24);
            for (int i = 0; i < image.Data.Length; i++)
            {
                image.Data[i] = (index * 7 + i * 13) % 256 / 255f;
            }

            return image;
        }

        public string Describe(int index) => $"synthetic #{index}";
    }

    private static IImageTransform Augmenting() => new Compose(
        new RandomResizedCrop(16), new RandomHorizontalFlip(), new ColorJitter(0.4f, 0.4f, 0.4f, 0.1f), Normalize.ImageNet());

    private static List<(float[] Input, int[] Labels)> Epoch(ImageDataLoader loader) =>
        loader.Select(b => (b.Input.ToArray(), b.Labels.ToArray())).ToList();

    [Fact]
    public void Batches_are_the_same_with_0_1_and_3_workers()
    {
        var data = new SyntheticImages(37, 4);
        List<List<(float[], int[])>> runs = [];
        foreach (int workers in new[] { 0, 1, 3 })
        {
            using var loader = new ImageDataLoader(data, Augmenting(), batchSize: 8, shuffle: true, seed: 5, workers: workers, prefetch: 2);
            Assert.Equal(5, loader.BatchCount);
            runs.Add(Epoch(loader).Concat(Epoch(loader)).ToList());
        }

        for (int r = 1; r < runs.Count; r++)
        {
            Assert.Equal(runs[0].Count, runs[r].Count);
            for (int b = 0; b < runs[0].Count; b++)
            {
                Assert.Equal(runs[0][b].Item2, runs[r][b].Item2);
                Assert.Equal(runs[0][b].Item1, runs[r][b].Item1);
            }
        }

        // Two epochs differ (new order and new augmentation draws), and every sample appears once per epoch.
        Assert.NotEqual(runs[0][0].Item1, runs[0][5].Item1);
        Assert.Equal(37, runs[0].Take(5).Sum(b => b.Item2.Length));
    }

    [Fact]
    public void A_failing_sample_surfaces_in_MoveNext_with_its_message()
    {
        foreach (int workers in new[] { 0, 2 })
        {
            using var loader = new ImageDataLoader(new SyntheticImages(40, 2, broken: 17), new CenterCrop(16), batchSize: 4, workers: workers);
            var e = Assert.Throws<InvalidDataException>(() => Epoch(loader));
            Assert.Contains("sample 17 is broken", e.Message);
            // The loader stays usable for a new epoch (which fails again at the same sample).
            Assert.Throws<InvalidDataException>(() => Epoch(loader));
        }
    }

    [Fact]
    public void A_sample_of_another_shape_is_named()
    {
        using var loader = new ImageDataLoader(new SyntheticImages(10, 2), transform: null, batchSize: 4, sampleShape: (3, 20, 24));
        var e = Assert.Throws<InvalidDataException>(() => Epoch(loader));
        Assert.Contains("synthetic #1", e.Message);
        Assert.Contains("3x21x24", e.Message);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_value()
    {
        var data = new SyntheticImages(10, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataLoader(data, null, batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataLoader(data, null, batchSize: 2, workers: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataLoader(data, null, batchSize: 2, workers: 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDataLoader(data, null, batchSize: 2, prefetch: 0));
        Assert.Throws<ArgumentException>(() => new ImageDataLoader(new SyntheticImages(0, 2), null, batchSize: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resize(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomResizedCrop(8, 8, scaleMin: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ColorJitter(hue: 0.6f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Normalize([0.5f], [0f]));
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f, 0.5f], [0.5f]));
    }

    [Fact]
    public void Abandoning_an_epoch_and_disposing_stops_the_workers()
    {
        var loader = new ImageDataLoader(new SyntheticImages(200, 2), new CenterCrop(16), batchSize: 4, workers: 3, prefetch: 4);
        using (var e = loader.GetEnumerator())
        {
            Assert.True(e.MoveNext());
        }

        var second = loader.GetEnumerator();
        Assert.True(second.MoveNext());
        loader.Dispose();
        Assert.Throws<InvalidOperationException>(() => second.MoveNext());
        Assert.Throws<ObjectDisposedException>(() => loader.GetEnumerator());
    }

    [Fact]
    public void RandomResizedCrop_regions_stay_inside_and_follow_the_scale_range()
    {
        var crop = new RandomResizedCrop(8, 8, scaleMin: 0.2, scaleMax: 0.9);
        var random = new Random(3);
        double minFraction = 1, maxFraction = 0;
        for (int i = 0; i < 2000; i++)
        {
            (int top, int left, int h, int w) = crop.SampleRegion(60, 90, random);
            Assert.InRange(top, 0, 60 - h);
            Assert.InRange(left, 0, 90 - w);
            double fraction = (double)h * w / (60 * 90);
            minFraction = Math.Min(minFraction, fraction);
            maxFraction = Math.Max(maxFraction, fraction);
            Assert.InRange((double)w / h, 3.0 / 4 * 0.9, 4.0 / 3 * 1.1); // rounding of w and h
        }

        output.WriteLine($"area fraction range seen: {minFraction:F3} ... {maxFraction:F3} (asked 0.2 ... 0.9)");
        Assert.InRange(minFraction, 0.18, 0.25);
        Assert.InRange(maxFraction, 0.85, 0.93);
    }

    [Fact]
    public void ImageFolder_sorts_classes_and_files_and_names_undecodable_files()
    {
        string root = Path.Combine(TestPaths.ScratchDir, "imagefolder-" + Guid.NewGuid().ToString("N")[..8]);
        foreach ((string cls, int n) in new[] { ("b_dog", 2), ("a_cat", 3) })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < n; i++)
            {
                using var bitmap = new SKBitmap(new SKImageInfo(6 + i, 5, SKColorType.Rgba8888, SKAlphaType.Unpremul));
                bitmap.Erase(new SKColor((byte)(40 * i), 100, 200));
                using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                File.WriteAllBytes(Path.Combine(root, cls, $"{i}.png"), png.ToArray());
            }
        }

        File.WriteAllText(Path.Combine(root, "a_cat", "notes.txt"), "ignored: not an image extension");
        var folder = new ImageFolder(root);
        Assert.Equal(["a_cat", "b_dog"], folder.Classes);
        Assert.Equal(5, folder.Count);
        Assert.Equal([0, 0, 0, 1, 1], Enumerable.Range(0, 5).Select(folder.GetLabel));
        PlanarImage first = folder.Load(1);
        Assert.Equal((3, 5, 7), first.Shape);
        Assert.Equal(40 / 255f, first.Data[0]);
        Assert.Equal(200 / 255f, first.Data[2 * 35]);

        File.WriteAllBytes(Path.Combine(root, "b_dog", "2.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var broken = new ImageFolder(root);
        var e = Assert.Throws<InvalidDataException>(() => broken.Load(5));
        Assert.Contains("2.png", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(Path.Combine(root, "missing")));
        Directory.CreateDirectory(Path.Combine(root, "c_empty"));
        Assert.Contains("c_empty", Assert.Throws<InvalidDataException>(() => new ImageFolder(root)).Message);
    }
}
