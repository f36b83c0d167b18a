using System.Diagnostics;
using System.Text.Json.Nodes;
using CnnNative.Data;
using CnnNative.Tests.Infrastructure;
using CnnNative.Vision;

namespace CnnNative.Tests.Data;

/// <summary>
/// ImageFolder decoding + Resize/CenterCrop/Normalize against torchvision 0.14 (Debian python3-torchvision),
/// whose reference tensors torchvision_transforms_reference.py computes at test time on generated PNG and
/// JPEG files. Tolerances:
/// <list type="bullet">
/// <item>transforms on identical decoded pixels (torchvision's decoded tensor fed to our transforms) vs
/// torchvision's tensor path with antialias=True: 1/255 of the pixel range, i.e. 1/255/std after Normalize
/// (the issue's floor);</item>
/// <item>PNG end to end (SkiaSharp decode + our transforms vs PIL decode + torchvision): the same 1/255 (PNG is
/// lossless, so the decoded bytes must be equal);</item>
/// <item>JPEG decode (Skia's libjpeg-turbo vs PIL's libjpeg): 4/255 per pixel, because the two libraries'
/// IDCT and chroma upsampling may round differently; the measured maximum is printed.</item>
/// </list>
/// </summary>
public sealed class TorchvisionTransformTests(ITestOutputHelper output)
{
    private const float Level = 1f / 255f;
    private const float JpegDecodeTolerance = 4f / 255f;

    [Fact]
    public void Resize_CenterCrop_Normalize_match_torchvision_on_png_and_jpeg()
    {
        string dir = GenerateReferences();
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!.AsObject();
        output.WriteLine($"reference: torch {manifest["torch"]}, torchvision {manifest["torchvision"]}");
        var failures = new List<string>();
        int cases = 0;
        foreach (JsonNode? imageNode in manifest["images"]!.AsArray())
        {
            string name = imageNode!["name"]!.GetValue<string>();
            string file = Path.Combine(dir, imageNode["file"]!.GetValue<string>());
            bool jpeg = imageNode["format"]!.GetValue<string>() == "jpeg";
            foreach ((string mode, ColorMode colorMode) in new[] { ("RGB", ColorMode.Rgb), ("L", ColorMode.Grayscale) })
            {
                string tag = $"{name}.{mode}";
                int[] shape = imageNode[mode]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
                var torchDecoded = new PlanarImage(shape[0], shape[1], shape[2], ReadFloats(Path.Combine(dir, tag + ".decoded.bin")));
                PlanarImage ours = ImageDecoder.Decode(file, colorMode);
                Assert.Equal(torchDecoded.Shape, ours.Shape);

                // PNG is lossless and the colour -> gray conversion uses PIL's integer luma: equal bytes expected.
                bool exactDecode = !jpeg;
                float decodeTolerance = exactDecode ? Level : JpegDecodeTolerance;
                float decodeError = MaxError(ours.Data, torchDecoded.Data);
                output.WriteLine($"{tag,-16} decode: max |skia - PIL| = {decodeError * 255:F3}/255 (tolerance {decodeTolerance * 255:F0}/255)");
                if (decodeError > decodeTolerance)
                {
                    failures.Add($"{tag} decode error {decodeError * 255:F3}/255 > {decodeTolerance * 255:F0}/255");
                }

                float[] mean = manifest["mean"]![mode]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
                float[] std = manifest["std"]![mode]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
                foreach (JsonNode? pipe in manifest["pipelines"]!.AsArray())
                {
                    string pipeName = pipe!["name"]!.GetValue<string>();
                    int[] size = pipe["size"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
                    int[] crop = pipe["crop"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
                    var transform = new Compose(
                        size.Length == 1 ? new Resize(size[0]) : new Resize(size[0], size[1]),
                        new CenterCrop(crop[0], crop[1]),
                        new Normalize(mean, std));
                    float[] expected = ReadFloats(Path.Combine(dir, $"{tag}.{pipeName}.tensor.bin"));
                    float[] pil = ReadFloats(Path.Combine(dir, $"{tag}.{pipeName}.pil.bin"));
                    float scale = 1f / std.Min(); // 1/255 of the pixel range after Normalize

                    // The floor: identical decoded pixels -> our transforms vs torchvision's.
                    PlanarImage onSame = transform.Apply(torchDecoded, new Random(0));
                    Assert.Equal(expected.Length, onSame.Data.Length);
                    float sameError = MaxError(onSame.Data, expected) / scale;
                    // End to end: our decoder + transforms.
                    float e2eError = MaxError(transform.Apply(ours, new Random(0)).Data, expected) / scale;
                    float pilError = MaxError(onSame.Data, pil) / scale;
                    float e2eTolerance = exactDecode ? Level : JpegDecodeTolerance;
                    output.WriteLine($"{tag,-16} {pipeName,-5} transforms on torch's pixels {sameError * 255:F4}/255 (tol 1/255); " +
                        $"end to end {e2eError * 255:F3}/255 (tol {e2eTolerance * 255:F0}/255); vs PIL-path Resize {pilError * 255:F3}/255 (reported only)");
                    cases++;
                    if (sameError > Level)
                    {
                        failures.Add($"{tag} {pipeName}: transforms {sameError * 255:F4}/255 > 1/255");
                    }

                    if (e2eError > e2eTolerance)
                    {
                        failures.Add($"{tag} {pipeName}: end to end {e2eError * 255:F3}/255 > {e2eTolerance * 255:F0}/255");
                    }
                }
            }
        }

        Assert.True(cases >= 40, $"only {cases} cases ran");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void ColorJitter_components_match_torchvision_functional()
    {
        string dir = GenerateReferences();
        JsonObject manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "manifest.json")))!.AsObject();
        JsonNode first = manifest["images"]![0]!;
        int[] shape = first["RGB"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        float[] decoded = ReadFloats(Path.Combine(dir, first["name"]!.GetValue<string>() + ".RGB.decoded.bin"));
        JsonNode jitter = manifest["jitter"]!;
        // float32 arithmetic in both; the tolerance allows for a different operation order (1e-5 of the range).
        const float Tolerance = 1e-5f;
        foreach ((string component, Action<PlanarImage, float> adjust) in new (string, Action<PlanarImage, float>)[]
                 {
                     ("brightness", ColorJitter.AdjustBrightness), ("contrast", ColorJitter.AdjustContrast),
                     ("saturation", ColorJitter.AdjustSaturation), ("hue", ColorJitter.AdjustHue),
                 })
        {
            var image = new PlanarImage(shape[0], shape[1], shape[2], (float[])decoded.Clone());
            adjust(image, jitter[component]!.GetValue<float>());
            float error = MaxError(image.Data, ReadFloats(Path.Combine(dir, $"jitter.{component}.bin")));
            output.WriteLine($"adjust_{component}({jitter[component]}): max error {error:E2} (tolerance {Tolerance:E0})");
            Assert.True(error <= Tolerance, $"adjust_{component}: max error {error} > {Tolerance}");
        }
    }

    private static float MaxError(float[] a, float[] b)
    {
        Assert.Equal(b.Length, a.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return max;
    }

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }

    /// <summary>Runs the reference script into a fresh scratch folder (fails, with the install line, if torchvision is missing).</summary>
    private static string GenerateReferences()
    {
        string dir = Path.Combine(TestPaths.ScratchDir, "torchvision-ref-" + Guid.NewGuid().ToString("N")[..8]);
        string script = Path.Combine(TestPaths.RepoRoot, "tests", "CnnNative.Tests", "Data", "torchvision_transforms_reference.py");
        string python = PythonTools.Interpreter;
        var info = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(dir);
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {python}");
        string stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0,
            $"{python} {script} failed (exit {process.ExitCode}); install torchvision with: {PythonTools.InstallHint}{Environment.NewLine}{stderr}");
        return dir;
    }
}
