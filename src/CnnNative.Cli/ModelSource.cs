using System.CommandLine;
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

    /// <summary>
    /// Loads an ONNX file; load errors become one-line user errors (exit code 2), the library's message as it is
    /// (it names the file: "ONNX file 'PATH': ...").
    /// </summary>
    public static OnnxModel LoadOnnx(string path, OnnxLoadOptions options)
    {
        try
        {
            return OnnxModel.Load(path, options);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            throw new CliException(e.Message);
        }
    }

    /// <summary>Default of <c>--max-tensor-mib</c>: 1 GiB of float32 per tensor, as <see cref="OnnxLoadOptions.MaxTensorElements"/>.</summary>
    public const int DefaultMaxTensorMib = 1024;

    /// <summary>
    /// <c>--max-tensor-mib</c> of inspect and verify: what one tensor a file or a shape declares may cost (an ONNX
    /// initializer or input, the --input-shape, a .npy input), checked before anything of that size is allocated.
    /// </summary>
    public static Option<int> MaxTensorMibOption()
    {
        var option = new Option<int>("--max-tensor-mib")
        {
            Description = $"Largest tensor (ONNX initializer or input, --input-shape, --input) accepted, in MiB of float32 (1 ... 1048576; default {DefaultMaxTensorMib}).",
            HelpName = "MIB",
            DefaultValueFactory = _ => DefaultMaxTensorMib,
        };
        CommonOptions.AddRange(option, 1, 1 << 20);
        return option;
    }

    /// <summary>Elements of float32 in <paramref name="mib"/> MiB.</summary>
    public static long MaxElements(int mib) => (long)mib << 18;

    /// <summary>ONNX load limits with the tensor bound of <c>--max-tensor-mib</c>.</summary>
    public static OnnxLoadOptions LoadOptions(int maxTensorMib) => new() { MaxTensorElements = MaxElements(maxTensorMib) };

    /// <summary>The shape, if its float32 tensor fits <c>--max-tensor-mib</c>; else a user error naming both.</summary>
    public static int[] Bounded(int[] shape, int maxTensorMib, string what)
    {
        long count = 1;
        foreach (int d in shape)
        {
            count = d == 0 ? 0 : Math.Min(count * d, long.MaxValue / int.MaxValue); // saturates: never overflows
        }

        if (count > MaxElements(maxTensorMib))
            throw new CliException($"{what} {Tensor.FormatShape(shape)} holds {count:N0} elements ({count / (1 << 18):N0} MiB of float32), more than --max-tensor-mib {maxTensorMib} allows.");
        return shape;
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
