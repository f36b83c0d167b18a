// Input-pipeline measurements for docs/fine-tuning.md (see the project file for what and why).
using System.Diagnostics;
using CnnNative;
using CnnNative.Data;
using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Optim;
using CnnNative.Vision;
using SixLabors.ImageSharp.PixelFormats;
using SkiaSharp;

int threads = Arg("--threads", 2), workers = Arg("--workers", 2), seconds = Arg("--seconds", 20), trainSteps = Arg("--steps", 8);
Cnn.NumThreads = threads;
string root = Path.Combine(Path.GetTempPath(), $"cnn-pipeline-bench-{Environment.ProcessId}");
WriteFolder(root, classes: 4, perClass: 64, width: 96, height: 80);
Console.WriteLine($"CnnNative {Cnn.Version}, isa {Cnn.Isa}, {threads} compute thread(s), {Environment.ProcessorCount} logical CPUs; load average {LoadAverage()}");
Console.WriteLine($"Data: {root} (4 classes x 64 files x {{PNG, JPEG q90}}, 96x80 RGB)");

// 1. Decoders on the same bytes: rounds alternate between the two (so load changes hit both alike); medians of 9.
foreach (string ext in new[] { ".png", ".jpg" })
{
    byte[][] files = Directory.EnumerateFiles(root, "*" + ext, SearchOption.AllDirectories).Select(File.ReadAllBytes).ToArray();
    Action skia = () => { foreach (byte[] f in files) ImageDecoder.Decode(f); };
    Action sharp = () =>
    {
        foreach (byte[] f in files)
        {
            using var image = SixLabors.ImageSharp.Image.Load<Rgb24>(f);
            var pixels = new Rgb24[image.Width * image.Height];
            image.CopyPixelDataTo(pixels);
            PlanarImage.FromInterleaved(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()), image.Height, image.Width, image.Width * 3, 3, 3);
        }
    };
    skia();
    sharp();
    var skiaTimes = new List<double>();
    var sharpTimes = new List<double>();
    for (int round = 0; round < 9; round++)
    {
        skiaTimes.Add(Time(skia) / files.Length);
        sharpTimes.Add(Time(sharp) / files.Length);
    }

    skiaTimes.Sort();
    sharpTimes.Sort();
    double s = skiaTimes[4], i = sharpTimes[4];
    Console.WriteLine($"decode {ext} -> float planar: SkiaSharp {s * 1e6:F1} us/image, ImageSharp {i * 1e6:F1} us/image (ImageSharp/Skia time {i / s:F2}x; medians of 9 alternating rounds of {files.Length} files)");
}

if (args.Contains("--decode-only"))
{
    Directory.Delete(root, recursive: true);
    return;
}

// 2. ImageFolder + augmenting transforms at 64x64, batch 32.
var folder = new ImageFolder(root);
var augment = new Compose(new RandomResizedCrop(64), new RandomHorizontalFlip(), new ColorJitter(0.4f, 0.4f, 0.4f, 0.1f), Normalize.ImageNet());
double ImagesPerSecond(int w)
{
    using var loader = new ImageDataLoader(folder, augment, batchSize: 32, shuffle: true, workers: w, prefetch: 4);
    long images = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds / 2.0)
    {
        foreach (Batch b in loader) images += b.Count;
    }

    return images / clock.Elapsed.TotalSeconds;
}

double noWorkers = ImagesPerSecond(0), withWorkers = ImagesPerSecond(workers);
Console.WriteLine($"loader (decode + RandomResizedCrop 64 + flip + ColorJitter + Normalize, batch 32): 0 workers {noWorkers:F0} images/s, {workers} workers {withWorkers:F0} images/s");

// 3. What resnet18 training consumes at 3x64x64, batch 32 (random data, Adam; first step is warm-up).
Cnn.ManualSeed(0);
using Module model = ModelZoo.Create("resnet18", 4);
using var optimizer = new Adam(model.Parameters(), 1e-3f);
using Tensor x = Tensor.Randn(1, 32, 3, 64, 64);
int[] labels = Enumerable.Range(0, 32).Select(i => i % 4).ToArray();
var times = new List<double>();
for (int step = 0; step <= trainSteps; step++)
{
    var clock = Stopwatch.StartNew();
    optimizer.ZeroGrad();
    using Tensor logits = model.Forward(x);
    using Tensor loss = Functional.CrossEntropy(logits, labels);
    loss.Backward();
    optimizer.Step();
    if (step > 0) times.Add(clock.Elapsed.TotalSeconds);
}

times.Sort();
double stepImages = 32 / times[times.Count / 2];
Console.WriteLine($"resnet18 training step, 3x64x64, batch 32, {threads} threads: {stepImages:F0} images/s (median of {times.Count} steps)");
Console.WriteLine($"ratio loader ({workers} workers) / training step: {withWorkers / stepImages:F1}x; without workers: {noWorkers / stepImages:F1}x");
Directory.Delete(root, recursive: true);

static double Time(Action action)
{
    var c = Stopwatch.StartNew();
    action();
    return c.Elapsed.TotalSeconds;
}

static void WriteFolder(string root, int classes, int perClass, int width, int height)
{
    var random = new Random(1);
    for (int c = 0; c < classes; c++)
    {
        string dir = Path.Combine(root, $"class{c}");
        Directory.CreateDirectory(dir);
        for (int i = 0; i < perClass; i++)
        {
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 2 + c * 40), (byte)(y * 3 + random.Next(30)), (byte)((x + y + i) * 5)));
            }

            foreach ((SKEncodedImageFormat format, string ext, int quality) in new[] { (SKEncodedImageFormat.Png, ".png", 100), (SKEncodedImageFormat.Jpeg, ".jpg", 90) })
            {
                using SKData data = bitmap.Encode(format, quality);
                File.WriteAllBytes(Path.Combine(dir, $"{i:D3}{ext}"), data.ToArray());
            }
        }
    }
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}
