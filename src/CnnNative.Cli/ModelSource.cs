using CnnNative.Nn;
using CnnNative.Onnx;
using Zoo = CnnNative.Models.ModelZoo;

namespace CnnNative.Cli;

/// <summary>
/// A model named on the command line for <c>cnn inspect</c> / <c>cnn verify</c>: an .onnx file, or a
/// model-zoo name with its default input shape.
/// </summary>
internal static class ModelSource
{
    /// <summary>The zoo names accepted here (the library's model zoo).</summary>
    public static IReadOnlyList<string> Names => Zoo.Names;

    public static bool IsOnnxPath(string model) =>
        model.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || File.Exists(model);

    /// <summary>A zoo model (eval mode) and its default input shape [1, C, H, W].</summary>
    public static (Module Model, int[] InputShape) CreateZoo(string name, int classes)
    {
        if (!Zoo.Names.Contains(name))
            throw new CliException($"unknown model '{name}': give an .onnx file or one of {string.Join(", ", Names)}.");
        if (classes < 1)
            throw new CliException($"--num-classes {classes}: must be >= 1.");
        Module model = Zoo.Create(name, classes);
        model.Eval();
        return (model, Zoo.DefaultInputShape(name));
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
