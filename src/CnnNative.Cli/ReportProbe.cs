using CnnNative.Data;
using CnnNative.Inference;
using CnnNative.Interop;
using CnnNative.Nn;
using CnnNative.Report;
using CnnNative.Vision;
using Zoo = CnnNative.Models.ModelZoo;

namespace CnnNative.Cli;

/// <summary>One captured feature map of the probe: which convolution (1-based, in execution order) and its [C, H, W] values.</summary>
internal sealed record FeatureMap(int ConvIndex, int ConvCount, int Channels, int Height, int Width, float[] Values);

/// <summary>What <c>cnn report</c> learns from the trained model: first filters, activations, saliency of one input.</summary>
internal sealed record ProbeResult(
    string FirstConvName, float[] FirstConvWeight, int[] FirstConvShape,
    string InputPath, float[] DisplayInput, int Channels, int Height, int Width,
    IReadOnlyList<FeatureMap> Activations, float[] InputGradient, int TopClass, float TopProbability);

/// <summary>
/// Runs the run directory's model (zoo factory from run.json + last.safetensors) on one image: a forward pass with a
/// Functional-op listener that copies every convolution's output (the library has no module hooks; the op trace
/// used by <c>cnn inspect</c> sees each conv with its fused activation), then a gradient pass for the saliency.
/// </summary>
internal static class ReportProbe
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    public static ProbeResult Run(string runDirectory, RunInfo run, string? inputPath)
    {
        string weightsPath = Path.Combine(runDirectory, RunData.WeightsFile);
        if (!File.Exists(weightsPath))
            throw new CliException($"{weightsPath}: missing (the weights after the last epoch; the run did not finish?).");
        if (!Zoo.Names.Contains(run.Model))
            throw new CliException($"{Path.Combine(runDirectory, RunData.RunFile)}: unknown model '{run.Model}' (expected one of {string.Join(", ", Zoo.Names)}).");

        using Module model = Zoo.Create(run.Model, run.Classes.Count);
        try
        {
            model.LoadSafetensors(weightsPath);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException or NotSupportedException or KeyNotFoundException or CnnNativeException)
        {
            throw new CliException($"{weightsPath}: cannot load into {run.Model} with {run.Classes.Count} classes ({ex.Message}).");
        }

        model.Eval();
        (string convName, Conv2d firstConv) = model.NamedModules().Where(m => m.Module is Conv2d).Select(m => (m.Name, (Conv2d)m.Module)).FirstOrDefault();
        if (firstConv is null)
            throw new CliException($"{run.Model} has no Conv2d layer to show.");

        string path = inputPath ?? FirstImage(run.DataDirectory, runDirectory);
        (float[] display, float[] normalized) = LoadInput(path, run);
        int c = run.Input[0], h = run.Input[1], w = run.Input[2];

        var capture = new ConvCapture();
        using (Autograd.NoGrad())
        using (Trace.Listen(capture))
        using (Tensor x = Tensor.FromArray(normalized, 1, c, h, w))
        using (Tensor logits = model.Forward(x))
        {
        }

        using Tensor input = Tensor.FromArray(normalized, 1, c, h, w);
        input.RequiresGrad = true;
        using Tensor scores = model.Forward(input);
        float[] logitValues = scores.ToArray();
        int top = Array.IndexOf(logitValues, logitValues.Max());
        var seed = new float[logitValues.Length];
        seed[top] = 1;   // d(top logit)/d(logits): backward from the top class score alone
        using (Tensor seedTensor = Tensor.FromArray(seed, scores.Shape))
            scores.Backward(seedTensor);
        float[] gradient = input.Grad!.ToArray();
        model.ZeroGrad();

        double sum = logitValues.Sum(v => Math.Exp(v - logitValues[top]));
        return new ProbeResult(convName, firstConv.Weight.ToArray(), firstConv.Weight.Shape, path, display, c, h, w,
            capture.Chosen(), gradient, top, (float)(1 / sum));
    }

    /// <summary>The input as the evaluation pipeline sees it (Resize + CenterCrop): display values and normalised values.</summary>
    private static (float[] Display, float[] Normalized) LoadInput(string path, RunInfo run)
    {
        PlanarImage image;
        try
        {
            image = ImageDecoder.Decode(path, run.Input[0] == 1 ? ColorMode.Grayscale : ColorMode.Rgb);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"{path}: cannot read the input image ({ex.Message}).");
        }

        var random = new Random(0);
        PlanarImage cropped = new Compose(new Resize(run.Input[1], run.Input[2]), new CenterCrop(run.Input[1], run.Input[2])).Apply(image, random);
        PlanarImage normalized = new Normalize(run.Mean, run.Std).Apply(cropped, random);
        return ((float[])cropped.Data.Clone(), normalized.Data);
    }

    /// <summary>The first image file (sorted by path) under the run's data folder.</summary>
    private static string FirstImage(string? dataDirectory, string runDirectory)
    {
        if (dataDirectory is null || !Directory.Exists(dataDirectory))
            throw new CliException($"{Path.Combine(runDirectory, RunData.RunFile)}: the data folder '{dataDirectory}' does not exist; give --input IMAGE.");
        string? first = Directory.EnumerateFiles(dataDirectory, "*", SearchOption.AllDirectories)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .FirstOrDefault();
        return first ?? throw new CliException($"{dataDirectory}: no .png/.jpg image found; give --input IMAGE.");
    }

    /// <summary>Copies every 4-D convolution output of the forward pass, in execution order.</summary>
    private sealed class ConvCapture : OpListener
    {
        private readonly List<(int[] Shape, float[] Values)> _maps = [];

        public override void Conv2d(in CnnConv2dParams p, Tensor input, Tensor weight, Tensor? bias, Activation activation, Tensor output)
        {
            if (output.Shape is [1, _, _, _])
                _maps.Add((output.Shape, output.ToArray()));
        }

        /// <summary>The first, the middle and the last convolution (fewer when the model has fewer).</summary>
        public IReadOnlyList<FeatureMap> Chosen()
        {
            int n = _maps.Count;
            return new[] { 0, n / 2, n - 1 }.Where(i => i >= 0).Distinct()
                .Select(i => new FeatureMap(i + 1, n, _maps[i].Shape[1], _maps[i].Shape[2], _maps[i].Shape[3], _maps[i].Values))
                .ToList();
        }
    }
}
