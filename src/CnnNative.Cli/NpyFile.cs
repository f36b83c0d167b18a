using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace CnnNative.Cli;

/// <summary>Reads a NumPy .npy array of float32 or float64 (C order, little-endian) as float32.</summary>
internal static partial class NpyFile
{
    /// <summary>Reads the array; anything malformed, or more than <paramref name="maxElements"/> elements, is a user error (exit 2).</summary>
    public static Tensor Read(string path, long maxElements)
    {
        byte[] bytes;
        try
        {
            // The file's size bounds the array: check it before reading the whole file into memory.
            long length = new FileInfo(path).Length;
            long largest = 1024 + (maxElements * sizeof(double));
            if (length > largest)
                throw new CliException($"{path}: {length:N0} bytes, more than a .npy of {maxElements:N0} float64 elements (--max-tensor-mib) can be.");
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {path}: {e.Message}");
        }

        // Magic (6 bytes), version (2), header length (2 bytes in version 1, 4 in versions 2 and 3).
        if (bytes.Length < 8 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new CliException($"{path} is not a .npy file (no \\x93NUMPY magic).");
        int major = bytes[6];
        if (major is < 1 or > 3)
            throw new CliException($"{path}: .npy format version {major}.{bytes[7]} is not supported (1.0, 2.0 or 3.0).");
        int start = major == 1 ? 10 : 12;
        if (bytes.Length < start)
            throw new CliException($"{path}: the .npy header is truncated ({bytes.Length} bytes; the version {major} preamble alone is {start}).");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
        if (start + headerLength > bytes.Length)
            throw new CliException($"{path}: the .npy header is truncated (it declares {headerLength} bytes; {bytes.Length - start} follow the preamble).");
        string header = Encoding.Latin1.GetString(bytes, start, (int)headerLength);
        string descr = Descr().Match(header) is { Success: true } d ? d.Groups[1].Value : "";
        if (FortranOrder().IsMatch(header))
            throw new CliException($"{path}: Fortran-ordered arrays are not supported (save with np.ascontiguousarray).");
        if (descr is not ("<f4" or "<f8"))
            throw new CliException($"{path}: dtype '{descr}' is not supported (float32 '<f4' or float64 '<f8').");
        Match shapeMatch = Shape().Match(header);
        if (!shapeMatch.Success)
            throw new CliException($"{path}: no shape in the .npy header.");
        int[] shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, out int v) && v > 0 ? v : throw new CliException($"{path}: bad dimension '{s}'.")).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b <= maxElements ? a * b : maxElements + 1);
        int size = descr == "<f4" ? 4 : 8;
        long dataStart = start + headerLength;
        if (count > maxElements)
            throw new CliException($"{path}: shape ({string.Join(", ", shape)}) holds more than {maxElements:N0} elements (--max-tensor-mib).");
        if (shape.Length == 0 || bytes.Length - dataStart != count * size)
            throw new CliException($"{path}: shape ({string.Join(", ", shape)}) does not match the {bytes.Length - dataStart} data bytes.");
        var data = new float[count];
        for (long i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> at = bytes.AsSpan((int)(dataStart + (i * size)));
            data[i] = size == 4 ? BinaryPrimitives.ReadSingleLittleEndian(at) : (float)BinaryPrimitives.ReadDoubleLittleEndian(at);
        }

        return Tensor.FromArray(data, shape);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*True")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex Shape();
}
