using System.IO.Compression;
using CnnNative.Cli;
using CnnNative.IO;
using CnnNative.Onnx;

namespace CnnNative.Fuzz;

/// <summary>
/// One fuzz target: a reader of untrusted bytes, the exception types its XML docs promise for bad input
/// (anything else escaping is a finding), and the input size its memory budget is measured against.
/// </summary>
internal sealed record FuzzTarget(string Name, Action<string> Read, Type[] Documented, Func<string, long> BudgetBasis)
{
    public static readonly IReadOnlyList<FuzzTarget> All =
    [
        // Safetensors.Load: InvalidDataException (malformed), NotSupportedException (dtype).
        new("safetensors", ReadSafetensors, [typeof(InvalidDataException), typeof(NotSupportedException)], FileSize),
        // OnnxModel.Load: InvalidDataException, NotSupportedException (ArgumentException and IOException are
        // documented for a bad path/options and an unreadable file, which the harness never passes).
        // OnnxModel.Forward: ArgumentException (an input of the wrong shape; a node whose shapes do not fit).
        new("onnx", ReadOnnx, [typeof(InvalidDataException), typeof(NotSupportedException)], FileSize),
        // Idx.LoadImages / LoadLabels: InvalidDataException. The budget is measured against the decompressed size.
        new("idx", ReadIdx, [typeof(InvalidDataException)], DecompressedSize),
        // The CLI's model card (best.json beside best.safetensors): a usage error (CliException, exit code 2).
        new("modelcard", ReadModelCard, [typeof(CliException)], FileSize),
    ];

    public static FuzzTarget Find(string name)
        => All.FirstOrDefault(t => t.Name == name)
           ?? throw new ArgumentException($"unknown fuzz target '{name}'; expected one of: {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>True if <paramref name="e"/> is one of the documented types (or derives from one).</summary>
    public bool IsDocumented(Exception e) => Documented.Any(t => t.IsInstanceOfType(e));

    private static void ReadSafetensors(string path)
    {
        var tensors = Safetensors.Load(path, out _);
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>Largest input (elements) the harness feeds a loaded model: keeps one execution short.</summary>
    private const long MaxRunElements = 4096;

    private static void ReadOnnx(string path)
    {
        using OnnxModel model = OnnxModel.Load(path);
        if (model.Inputs.Count != 1 || model.Outputs.Count != 1) return;

        // One forward pass on zeros of the declared shape (dynamic dimensions as 1): the loader's promise is a
        // model that runs, or fails with a documented ArgumentException naming the node.
        int[] shape = model.Inputs[0].Shape.Select(d => d < 0 ? 1 : d).ToArray();
        if (shape.Length == 0 || shape.Aggregate(1L, (a, d) => a * Math.Max(d, 1)) > MaxRunElements || shape.Any(d => d == 0)) return;
        using Tensor input = Tensor.Zeros(shape);
        try
        {
            using Tensor output = model.Forward(input);
        }
        catch (ArgumentException)
        {
            // Documented on Run/Forward; the load itself succeeded.
        }
    }

    private static void ReadIdx(string path)
    {
        // Both readers on every input: the magic number picks which one gets past the header.
        foreach (Action read in new Action[] { () => Idx.LoadImages(path), () => Idx.LoadLabels(path) })
        {
            try
            {
                read();
            }
            catch (InvalidDataException)
            {
            }
        }
    }

    private static void ReadModelCard(string path)
    {
        // The CLI finds the card as <weights>.json: give it that name in a private directory.
        string dir = Path.Combine(Path.GetTempPath(), $"cnnfuzz-card-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string weights = Path.Combine(dir, "best.safetensors");
        File.Copy(path, ModelCard.PathFor(weights), overwrite: true);
        ModelCard? card = ModelCard.TryLoad(weights);
        if (card is null)
            throw new FuzzInvariantException("ModelCard.TryLoad returned null for an existing card");

        // What eval/infer do with an accepted card: it must be usable, or have been rejected above.
        if (string.IsNullOrEmpty(card.Model))
            throw new FuzzInvariantException("the card was accepted without a model name");
        _ = new Data.Normalization([card.NormalizationMean], [card.NormalizationStd]);
    }

    private static long FileSize(string path) => new FileInfo(path).Length;

    /// <summary>The size a gzip file decompresses to (read up to 256 MiB), or the file size if it is not gzip.</summary>
    private static long DecompressedSize(string path)
    {
        long size = FileSize(path);
        using var file = File.OpenRead(path);
        if (file.ReadByte() != 0x1f || file.ReadByte() != 0x8b) return size;
        file.Position = 0;
        long total = 0;
        try
        {
            using var gz = new GZipStream(file, CompressionMode.Decompress);
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = gz.Read(buffer)) > 0 && total < (256L << 20)) total += n;
        }
        catch (InvalidDataException)
        {
            // Corrupt streams: what decompressed before the error counts.
        }

        return Math.Max(size, total);
    }
}

/// <summary>A violated harness invariant (undocumented exception, memory over budget, native leak): a crash for afl.</summary>
internal sealed class FuzzInvariantException(string message, Exception? inner = null) : Exception(message, inner);
