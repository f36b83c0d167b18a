using System.Diagnostics;
using System.Globalization;
using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.IO;
using CnnNative.Models;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>
/// <c>cnn infer</c>: LeNet-5 over the 10,000 Fashion-MNIST test images.
/// The data is read first (not timed); one warm-up batch runs; then the whole set is timed,
/// reusing one input tensor and one probability tensor per batch size (the full batch and, if
/// the set does not divide evenly, the last partial one), so the loop itself allocates only
/// what the model's forward pass allocates. Each batch size runs through a compiled
/// <see cref="InferenceSession"/> (no allocation per batch) when the model supports one, else
/// through the model's forward pass.
/// </summary>
internal static class InferCommand
{
    private const string ImagesFile = "t10k-images-idx3-ubyte.gz";
    private const string LabelsFile = "t10k-labels-idx1-ubyte.gz";
    private const int ClassCount = 10;

    public static int Run(InferSettings settings, TextWriter output)
    {
        // 1. Execution settings (per calling thread: this one runs every forward pass).
        Execution.Configure(settings.Isa, settings.Threads);

        // 2. Data (not timed).
        var loadClock = Stopwatch.StartNew();
        (float[] images, byte[] labels) = LoadTestSet(settings.DataDirectory);
        loadClock.Stop();
        int count = labels.Length;
        int pixels = images.Length / count;
        int side = (int)Math.Round(Math.Sqrt(pixels));

        // 3. Model.
        Cnn.ManualSeed(settings.Seed);
        using var model = new LeNet5();
        model.Eval();
        string inputs = "pixels in [0, 1]";
        if (settings.Weights is not null)
        {
            Weights.Load(model, "LeNet-5", settings.Weights);
            // Weights from `cnn train` come with the normalisation they were trained with.
            if (ModelCard.TryLoad(settings.Weights) is { } card)
            {
                new CnnNative.Data.Normalization([card.NormalizationMean], [card.NormalizationStd]).Apply(images, pixels);
                inputs = string.Create(CultureInfo.InvariantCulture,
                    $"(pixel - {card.NormalizationMean:F4}) / {card.NormalizationStd:F4}, from {ModelCard.PathFor(settings.Weights)}");
            }
        }

        output.WriteLine($"Model:   LeNet-5 ({model.ParameterCount():N0} parameters)");
        output.WriteLine(settings.Weights is null
            ? $"Weights: RANDOM (seed {settings.Seed}); no --weights given, so predictions and accuracy are chance level (~10%). Train some with 'cnn train'."
            : $"Weights: {settings.Weights}; inputs {inputs}");
        output.WriteLine($"Data:    {settings.DataDirectory}: {count:N0} test images {side}x{side} (loaded in {loadClock.Elapsed.TotalMilliseconds:F0} ms, not timed)");
        output.WriteLine($"Run:     isa {IsaNames.ToName(Cnn.Isa)}, {Cnn.NumThreads} thread(s), batch {settings.BatchSize}, version {Cnn.Version}");
        output.WriteLine();

        // 4. Buffers, allocated once: the full batch and the last partial one.
        int batch = Math.Min(settings.BatchSize, count);
        int tail = count % batch;
        using var input = Tensor.Zeros(batch, 1, side, side);
        using var probabilities = Tensor.Zeros(batch, ClassCount);
        using Tensor? tailInput = tail > 0 ? Tensor.Zeros(tail, 1, side, side) : null;
        using Tensor? tailProbabilities = tail > 0 ? Tensor.Zeros(tail, ClassCount) : null;
        using var runner = new BatchRunner(model, input.Shape);
        using BatchRunner? tailRunner = tail > 0 ? new BatchRunner(model, tailInput!.Shape) : null;
        var predicted = new int[count];
        var confidence = new float[count];

        // 5. One warm-up batch (JIT, native scratch, thread pool wake-up), then the timed pass.
        RunBatch(runner, images, 0, batch, pixels, input, probabilities, predicted, confidence);
        int batches = 0;
        long nativeAllocationsBefore = Cnn.MemoryStats().TotalAllocations;
        long managedBytesBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < count; start += batch)
        {
            bool full = start + batch <= count;
            RunBatch(full ? runner : tailRunner!, images, start, full ? batch : tail, pixels,
                full ? input : tailInput!, full ? probabilities : tailProbabilities!, predicted, confidence);
            batches++;
        }
        clock.Stop();
        long managedBytes = GC.GetAllocatedBytesForCurrentThread() - managedBytesBefore;
        long nativeAllocations = Cnn.MemoryStats().TotalAllocations - nativeAllocationsBefore;

        // 6. Report.
        int shown = Math.Min(settings.Show, count);
        if (shown > 0)
        {
            output.WriteLine($"First {shown} test image(s):");
            output.WriteLine($"  {"#",5}  {"predicted",-12} {"p",6}   {"true label",-12}");
            for (int i = 0; i < shown; i++)
            {
                string mark = predicted[i] == labels[i] ? "ok" : "wrong";
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {i,5}  {ClassName(predicted[i]),-12} {confidence[i],6:F3}   {ClassName(labels[i]),-12} {mark}"));
            }
            output.WriteLine();
        }

        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            if (predicted[i] == labels[i])
            {
                correct++;
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Throughput: {count / seconds:N0} images/s ({count:N0} images in {seconds * 1000:F1} ms, {batches} batches of up to {batch}, after 1 warm-up batch; IO excluded)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Memory:     input/probability tensors reused; the model's forward pass made {nativeAllocations / (double)batches:F1} native allocations and {managedBytes / 1024.0 / batches:F1} KiB managed per batch"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Accuracy:   {100.0 * correct / count:F2}% ({correct:N0}/{count:N0}){(settings.Weights is null ? " (random weights: chance level expected)" : "")}"));
        return ExitCodes.Success;
    }

    private static void RunBatch(BatchRunner runner, float[] images, int start, int size, int pixels,
        Tensor input, Tensor probabilities, int[] predicted, float[] confidence)
    {
        input.CopyFrom(images.AsSpan(start * pixels, size * pixels));
        runner.Run(input, probabilities);

        ReadOnlySpan<float> p = probabilities.AsSpan();
        for (int row = 0; row < size; row++)
        {
            ReadOnlySpan<float> scores = p.Slice(row * ClassCount, ClassCount);
            int best = 0;
            for (int c = 1; c < ClassCount; c++)
            {
                if (scores[c] > scores[best])
                {
                    best = c;
                }
            }
            predicted[start + row] = best;
            confidence[start + row] = scores[best];
        }
    }

    private static (float[] Images, byte[] Labels) LoadTestSet(string directory)
    {
        LabeledImages test;
        try
        {
            test = FashionMnist.LoadTest(directory);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException(
                $"the Fashion-MNIST test set is not in {directory} (need {ImagesFile} and {LabelsFile}).{Environment.NewLine}" +
                $"  Install Debian's package:  sudo apt-get install dataset-fashion-mnist{Environment.NewLine}" +
                $"  (it puts the files in {FashionMnist.DefaultDirectory}), or pass --data DIR.");
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the Fashion-MNIST test set in {directory}: {ex.Message}");
        }

        if (test.Images.Rows != 28 || test.Images.Cols != 28)
        {
            throw new CliException($"LeNet-5 takes 28x28 images; the test set in {directory} has {test.Images.Rows}x{test.Images.Cols}.");
        }
        return (test.Images.Data, test.Labels);
    }

    private static string ClassName(int index)
        => (uint)index < (uint)FashionMnist.ClassNames.Count ? FashionMnist.ClassNames[index] : $"class {index}";

    /// <summary>
    /// The model on one input shape: a compiled <see cref="InferenceSession"/> and its logits buffer when the model
    /// can be traced (InferenceSession.Create throws NotSupportedException otherwise), else the eager forward pass.
    /// </summary>
    private sealed class BatchRunner : IDisposable
    {
        private readonly Module _model;
        private readonly InferenceSession? _session;
        private readonly Tensor? _logits;

        public BatchRunner(Module model, int[] inputShape)
        {
            _model = model;
            try
            {
                _session = InferenceSession.Create(model, inputShape);
                _logits = Tensor.Zeros(_session.OutputShape);
            }
            catch (NotSupportedException)
            {
                _session?.Dispose();
                _session = null;
            }
        }

        /// <summary>Softmax of the model's logits on <paramref name="input"/> into <paramref name="probabilities"/>.</summary>
        public void Run(Tensor input, Tensor probabilities)
        {
            if (_session is not null)
            {
                _session.Run(input, _logits!);
                Functional.Softmax(_logits!, 1, probabilities);
                return;
            }

            // Inference: no autograd graph (it would keep every activation alive until disposal).
            using (Autograd.NoGrad())
            using (Tensor logits = _model.Forward(input))
            {
                Functional.Softmax(logits, 1, probabilities);
            }
        }

        public void Dispose()
        {
            _session?.Dispose();
            _logits?.Dispose();
        }
    }
}
