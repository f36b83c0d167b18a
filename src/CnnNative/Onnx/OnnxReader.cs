using System.Runtime.InteropServices;
using CnnNative.Onnx.Proto;
using Google.Protobuf;

namespace CnnNative.Onnx;

/// <summary>A constant of the graph (initializer or Constant node) decoded from its TensorProto.</summary>
/// <param name="Name">The value name.</param>
/// <param name="Dims">The dimensions (rank 0 is a scalar).</param>
/// <param name="Floats">The data for FLOAT tensors, else null.</param>
/// <param name="Longs">The data for INT64/INT32 tensors, else null.</param>
internal sealed record OnnxConstant(string Name, int[] Dims, float[]? Floats, long[]? Longs)
{
    public long Length => Floats?.Length ?? Longs!.Length;

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// Reads ModelProto bytes with Google.Protobuf under the limits of <see cref="OnnxLoadOptions"/> and
/// decodes tensors, turning every malformation into <see cref="InvalidDataException"/> and every valid
/// but unsupported feature into <see cref="NotSupportedException"/>.
/// </summary>
internal static class OnnxReader
{
    public static ModelProto Parse(Stream stream, OnnxLoadOptions options)
    {
        byte[] bytes = ReadCapped(stream, options.MaxFileBytes);
        try
        {
            using var input = CodedInputStream.CreateWithLimits(new MemoryStream(bytes, writable: false), int.MaxValue, options.RecursionLimit);
            ModelProto model = ModelProto.Parser.ParseFrom(input);
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"not a valid ONNX file: the protobuf data is malformed ({e.Message})", e);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or IndexOutOfRangeException or InvalidOperationException)
        {
            throw new InvalidDataException($"not a valid ONNX file: {e.Message}", e);
        }
    }

    private static byte[] ReadCapped(Stream stream, long maxBytes)
    {
        // Protobuf cannot parse more than 2 GiB in one message anyway.
        long cap = Math.Min(maxBytes, int.MaxValue - 64);
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining > cap)
                throw new InvalidDataException($"the ONNX file has {remaining} bytes, more than the limit of {cap} (OnnxLoadOptions.MaxFileBytes)");
        }

        var buffer = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > cap)
                throw new InvalidDataException($"the ONNX data is longer than the limit of {cap} bytes (OnnxLoadOptions.MaxFileBytes)");
            buffer.Write(chunk, 0, n);
        }

        return buffer.ToArray();
    }

    /// <summary>Dimensions checked against the cap: each in 0..MaxTensorElements, product too (no overflow).</summary>
    public static int[] CheckDims(IList<long> dims, string what, OnnxLoadOptions options)
    {
        var result = new int[dims.Count];
        long product = 1;
        for (int i = 0; i < dims.Count; i++)
        {
            long d = dims[i];
            if (d < 0)
                throw new InvalidDataException($"{what}: dimension {i} is {d}; dimensions must be >= 0 (dims [{string.Join(", ", dims)}])");
            if (d > options.MaxTensorElements || d > int.MaxValue)
                throw new InvalidDataException($"{what}: dimension {i} is {d}, more than the limit of {Math.Min(options.MaxTensorElements, int.MaxValue)} elements (OnnxLoadOptions.MaxTensorElements)");
            result[i] = (int)d;
            product = d == 0 ? 0 : product;
            if (product != 0 && product > options.MaxTensorElements / d)
                throw new InvalidDataException($"{what}: dims [{string.Join(", ", dims)}] hold more than {options.MaxTensorElements} elements (OnnxLoadOptions.MaxTensorElements)");
            product *= d;
        }

        return result;
    }

    public static OnnxConstant Decode(TensorProto t, string name, OnnxLoadOptions options)
    {
        string what = $"tensor '{name}'";
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string location = t.ExternalData.FirstOrDefault(e => e.Key == "location")?.Value ?? "?";
            throw new NotSupportedException(
                $"{what} keeps its data in an external file ('{location}'); external data is not supported (the file is never opened): " +
                "save the model with all tensors inside the .onnx file (onnx.save(model, path, save_as_external_data=False)).");
        }

        if (t.Segment != null)
            throw new NotSupportedException($"{what} is segmented (TensorProto.segment); segmented tensors are not supported.");
        int[] dims = CheckDims(t.Dims, what, options);
        long count = 1;
        foreach (int d in dims)
            count *= d;

        var type = (TensorProto.Types.DataType)t.DataType;
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                return new OnnxConstant(name, dims, ReadValues(t.RawData, t.HasRawData, t.FloatData, count, sizeof(float), what), null);
            case TensorProto.Types.DataType.Int64:
                return new OnnxConstant(name, dims, null, ReadValues(t.RawData, t.HasRawData, t.Int64Data, count, sizeof(long), what));
            case TensorProto.Types.DataType.Int32:
            {
                int[] ints = ReadValues(t.RawData, t.HasRawData, t.Int32Data, count, sizeof(int), what);
                return new OnnxConstant(name, dims, null, ints.Select(v => (long)v).ToArray());
            }

            default:
                string typeName = Enum.IsDefined(type) ? type.ToString().ToUpperInvariant() : $"#{t.DataType}";
                throw new NotSupportedException($"{what} has data type {typeName}; only FLOAT (and INT64/INT32 for shapes and pads) are supported.");
        }
    }

    private static T[] ReadValues<T>(ByteString raw, bool hasRaw, IList<T> typed, long count, int size, string what)
        where T : unmanaged
    {
        if (hasRaw)
        {
            if (typed.Count > 0)
                throw new InvalidDataException($"{what} has both raw_data and typed data");
            if (raw.Length != count * size)
                throw new InvalidDataException($"{what}: raw_data has {raw.Length} bytes; its dims need {count} x {size} = {count * size}");
            T[] values = new T[count];
            raw.Span.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
            if (!BitConverter.IsLittleEndian)
                throw new NotSupportedException("ONNX raw_data is little-endian; big-endian machines are not supported.");
            return values;
        }

        if (typed.Count != count)
            throw new InvalidDataException($"{what} has {typed.Count} values; its dims need {count}");
        return typed.ToArray();
    }
}
