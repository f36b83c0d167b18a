using CnnNative.Models;
using CnnNative.Nn;
using CnnNative.Onnx;

namespace CnnNative.Cli;

/// <summary>
/// A model named on the command line for <c>cnn inspect</c> / <c>cnn verify</c>: an .onnx file, or a
/// model-zoo name with its default input shape.
/// </summary>
internal static class ModelSource
{
    /// <summary>The zoo names accepted here.</summary>
    // When CnnNative.Models.ModelZoo (branch h-models) is merged, Names / Create / DefaultInputShape below
    // become its Names / Create(name, classes) / DefaultInputShape(name).
    public static IReadOnlyList<string> Names { get; } = [.. ModelZoo.Names, "resnet18", "resnet34", "resnet50"];

    public static bool IsOnnxPath(string model) =>
        model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || File.Exists(model);

    /// <summary>A zoo model (eval mode) and its default input shape [1, C, H, W].</summary>
    public static (Module Model, int[] InputShape) CreateZoo(string name, int classes)
    {
        (Module model, int[] shape) = name switch
        {
            "resnet18" => ((Module)ResNet.ResNet18(classes), new[] { 1, 3, 224, 224 }),
            "resnet34" => (ResNet.ResNet34(classes), new[] { 1, 3, 224, 224 }),
            "resnet50" => (ResNet.ResNet50(classes), new[] { 1, 3, 224, 224 }),
            _ when ModelZoo.Names.Contains(name) => (ModelZoo.Create(name), new[] { 1, 1, 28, 28 }),
            _ => throw new CliException($"unknown model '{name}': give an .onnx file or one of {string.Join(", ", Names)}."),
        };
        model.Eval();
        return (model, shape);
    }

    /// <summary>Loads an ONNX file; load errors become one-line user errors (exit code 2).</summary>
    public static OnnxModel LoadOnnx(string path)
    {
        try
        {
            return OnnxModel.Load(path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException)
        {
            throw new CliException($"cannot load {path}: {e.Message}");
        }
        catch (NotSupportedException e)
        {
            throw new CliException($"{e.Message}");
        }
    }

    /// <summary>Parses "1,3,224,224".</summary>
    public static int[] ParseShape(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var dims = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], out dims[i]) || dims[i] < 1)
                throw new CliException($"--input-shape '{text}': expected positive integers separated by commas, e.g. 1,3,224,224.");
        }

        return dims;
    }

    /// <summary>The ONNX input's declared shape with dynamic dimensions set to <paramref name="batch"/> (first) or 1.</summary>
    public static int[] Concrete(OnnxValueInfo input, int batch) =>
        input.Shape.Select((d, i) => d >= 0 ? d : i == 0 ? batch : 1).ToArray();
}
