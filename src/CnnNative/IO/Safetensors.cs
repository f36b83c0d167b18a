using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace CnnNative.IO;

/// <summary>Element types of the safetensors format (the spellings used in its header).</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 binary32; the only type tensors hold in memory.</summary>
    F32,
    /// <summary>IEEE 754 binary64 (read and written through float32).</summary>
    F64,
    /// <summary>IEEE 754 binary16 (read and written through float32).</summary>
    F16,
    /// <summary>bfloat16 (read and written through float32; written with round-to-nearest-even).</summary>
    BF16,
    /// <summary>Signed 64-bit integer (e.g. BatchNorm's num_batches_tracked). Written from integral float values.</summary>
    I64,
}

/// <summary>
/// Reader and writer of the safetensors format: an 8-byte little-endian header length N, N bytes of
/// UTF-8 JSON (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}</c>),
/// then the raw little-endian tensor bytes (offsets are relative to the end of the header).
/// </summary>
/// <remarks>
/// The reader treats the file as untrusted: the whole header is validated (length, JSON, dtypes, shapes,
/// offsets, overlaps, holes, duplicate keys) before a single tensor is allocated, and every problem is an
/// <see cref="InvalidDataException"/> naming the file, the key and the problem. Unsupported element types,
/// empty tensors and tensors of more than 2^31 - 1 elements are a <see cref="NotSupportedException"/> naming
/// the key, also before anything is allocated. <see cref="Nn.Module.LoadSafetensors"/> also checks the
/// header's names and shapes against the module before reading any data.
/// </remarks>
public static class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation uses the same limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const int MaxRank = 32;
    private const string MetadataKey = "__metadata__";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Reads every tensor of a safetensors file as float32 tensors (F64/F16/BF16/I64 converted; a 0-dim
    /// scalar becomes shape [1]).
    /// </summary>
    /// <returns>The tensors by name, in file header order. The caller owns (and disposes) them.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed; the message names the key and the problem.</exception>
    /// <exception cref="NotSupportedException">A tensor has a dtype that cannot be converted to float32.</exception>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

    /// <summary>Reads every tensor of a safetensors file, and its <c>__metadata__</c> (empty if absent).</summary>
    public static Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata)
    {
        var result = Load(path, select: null, out var meta);
        metadata = meta;
        return result;
    }

    /// <summary>
    /// Reads the tensors that <paramref name="select"/> picks from the validated header, which it sees before
    /// anything is allocated for data (it may throw to reject the file; e.g. a model checks names and shapes).
    /// </summary>
    internal static Dictionary<string, Tensor> Load(string path,
        Func<IReadOnlyList<(string Name, SafetensorsDType DType, int[] Shape)>, IReadOnlySet<string>>? select,
        out Dictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var (entries, dataStart, meta) = ReadHeader(stream, path);
        metadata = meta;
        IReadOnlySet<string>? wanted = select?.Invoke(entries.Select(e => (e.Name, e.DType, (int[])e.Shape.Clone())).ToList());

        var result = new Dictionary<string, Tensor>(entries.Count, StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                if (wanted is not null && !wanted.Contains(e.Name)) continue;
                var tensor = Tensor.Zeros(e.Shape);
                result.Add(e.Name, tensor);
                ReadData(stream, path, dataStart, e, tensor.AsSpan());
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Reads only the header: each tensor's name, dtype and shape, in file order (nothing allocated for data).</summary>
    public static IReadOnlyList<(string Name, SafetensorsDType DType, int[] Shape)> ReadInfo(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var (entries, _, _) = ReadHeader(stream, path);
        return entries.Select(e => (e.Name, e.DType, (int[])e.Shape.Clone())).ToList();
    }

    /// <summary>
    /// Writes tensors to a safetensors file (replacing it atomically: written to a temporary file, then renamed).
    /// </summary>
    /// <param name="path">Destination file.</param>
    /// <param name="tensors">Name/tensor pairs; names must be unique and non-empty (and not <c>__metadata__</c>).</param>
    /// <param name="dtypes">Optional per-name on-disk dtype (default F32). I64 requires integral values.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings; default <c>{"format": "pt"}</c>.</param>
    /// <param name="scalars">Optional names of one-element tensors to write with shape <c>[]</c> (a 0-dim
    /// PyTorch scalar such as <c>num_batches_tracked</c>; in memory every tensor has at least one dimension).</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, SafetensorsDType>? dtypes = null,
        IReadOnlyDictionary<string, string>? metadata = null,
        IEnumerable<string>? scalars = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);

        var items = new List<(string Name, Tensor Tensor, SafetensorsDType DType, int[] Shape, long Begin, long End)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var scalarSet = scalars is null ? null : new HashSet<string>(scalars, StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("Tensor names must be non-empty.", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"Duplicate tensor name '{name}'.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"Tensor '{name}' is null.", nameof(tensors));
            var dtype = dtypes is not null && dtypes.TryGetValue(name, out var d) ? d : SafetensorsDType.F32;
            if (!Enum.IsDefined(dtype)) throw new NotSupportedException($"Tensor '{name}': dtype {(int)dtype} cannot be written.");
            var shape = tensor.Shape;
            if (scalarSet is not null && scalarSet.Contains(name))
            {
                if (tensor.Length != 1)
                    throw new ArgumentException($"Tensor '{name}' is to be written as a scalar but has shape [{string.Join(", ", shape)}].", nameof(scalars));
                shape = [];
            }
            long bytes = checked(tensor.Length * ElementSize(dtype));
            items.Add((name, tensor, dtype, shape, offset, offset + bytes));
            offset = checked(offset + bytes);
        }
        if (dtypes is not null)
            foreach (var key in dtypes.Keys)
                if (!seen.Contains(key))
                    throw new ArgumentException($"A dtype was given for '{key}', which is not among the tensors.", nameof(dtypes));
        if (scalarSet is not null)
            foreach (var key in scalarSet)
                if (!seen.Contains(key))
                    throw new ArgumentException($"'{key}' is listed as a scalar but is not among the tensors.", nameof(scalars));

        // Validate I64 content before touching the file system.
        foreach (var it in items)
            if (it.DType == SafetensorsDType.I64)
            {
                var span = it.Tensor.AsSpan();
                for (int i = 0; i < span.Length; i++)
                {
                    float v = span[i];
                    if (!float.IsFinite(v) || MathF.Truncate(v) != v)
                        throw new ArgumentException($"Tensor '{it.Name}' is to be written as I64 but element {i} is {v}, not an integer.", nameof(tensors));
                }
            }

        byte[] header = BuildHeader(items.Select(i => (i.Name, i.DType, i.Shape, i.Begin, i.End)), metadata);

        string fullPath = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(fullPath) ?? ".";
        string tmp = Path.Combine(dir, "." + Path.GetFileName(fullPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var it in items) WriteData(fs, it.Tensor.AsSpan(), it.DType);
                fs.Flush(flushToDisk: false);
            }
            File.Move(tmp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes tensors given as an ordered list of (name, tensor) pairs, e.g. <c>module.StateDict()</c>.</summary>
    public static void Save(string path, IEnumerable<(string Key, Tensor Value)> tensors,
        IReadOnlyDictionary<string, SafetensorsDType>? dtypes = null,
        IReadOnlyDictionary<string, string>? metadata = null,
        IEnumerable<string>? scalars = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Save(path, tensors.Select(t => new KeyValuePair<string, Tensor>(t.Key, t.Value)), dtypes, metadata, scalars);
    }

    /// <summary>Bytes per element of a dtype.</summary>
    public static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 => 8,
        SafetensorsDType.F16 => 2,
        SafetensorsDType.BF16 => 2,
        SafetensorsDType.I64 => 8,
        _ => throw new NotSupportedException($"dtype {dtype} is not supported."),
    };

    // ------------------------------------------------------------------------------------------
    // Header parsing and validation
    // ------------------------------------------------------------------------------------------

    private sealed record Entry(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End);

    private static (List<Entry> Entries, long DataStart, Dictionary<string, string> Metadata) ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw Bad(path, $"file is {fileLength} bytes, shorter than the 8-byte header length");

        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLen > (ulong)MaxHeaderBytes)
            throw Bad(path, $"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit");
        if (headerLen > (ulong)(fileLength - 8))
            throw Bad(path, $"header length {headerLen} is beyond the end of the file ({fileLength - 8} bytes follow the length)");
        if (headerLen < 2)
            throw Bad(path, $"header length {headerLen} is too small for a JSON object");

        byte[] header = new byte[(int)headerLen];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLen;
        long dataLength = fileLength - dataStart;

        if (header[0] != (byte)'{')
            throw Bad(path, "header does not start with '{'");

        try
        {
            StrictUtf8.GetCharCount(header);
        }
        catch (DecoderFallbackException ex)
        {
            throw Bad(path, $"header is not valid UTF-8 (byte offset {ex.Index} of the header)", ex);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            throw Bad(path, $"header is not valid JSON: {ex.Message}", ex);
        }
        catch (ArgumentException ex) // invalid UTF-8 surfaces here on some paths
        {
            throw Bad(path, $"header is not valid UTF-8 JSON: {ex.Message}", ex);
        }

        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad(path, $"header is a JSON {root.ValueKind}, not an object");

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                string name = prop.Name;
                if (!seen.Add(name))
                    throw Bad(path, $"key '{name}' appears more than once in the header");
                if (name == MetadataKey)
                {
                    ParseMetadata(path, prop.Value, metadata);
                    continue;
                }
                entries.Add(ParseEntry(path, name, prop.Value, dataLength));
            }
        }

        // The byte buffer must be covered exactly: no overlaps, no holes, nothing trailing.
        var byOffset = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        Entry? previous = null;
        foreach (var e in byOffset)
        {
            if (e.Begin < expected)
                throw Bad(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap those of '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (e.Begin > expected)
                throw Bad(path, $"tensor '{e.Name}': data_offsets begin at {e.Begin} but the previous tensor ends at {expected} (holes are not allowed)");
            expected = e.End;
            previous = e;
        }
        if (expected != dataLength)
            throw Bad(path, $"the tensors cover {expected} bytes of data but the file holds {dataLength} bytes after the header");

        return (entries, dataStart, metadata);
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"'{MetadataKey}' is a JSON {value.ValueKind}, not an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw Bad(path, $"'{MetadataKey}' entry '{m.Name}' is a JSON {m.Value.ValueKind}, not a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw Bad(path, $"'{MetadataKey}' entry '{m.Name}' appears more than once");
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (name.Length == 0)
            throw Bad(path, "a tensor has an empty name");
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"tensor '{name}': entry is a JSON {value.ValueKind}, not an object");

        if (!value.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw Bad(path, $"tensor '{name}': missing or non-string \"dtype\"");
        string dtypeText = dtypeEl.GetString()!;
        SafetensorsDType dtype = dtypeText switch
        {
            "F32" => SafetensorsDType.F32,
            "F64" => SafetensorsDType.F64,
            "F16" => SafetensorsDType.F16,
            "BF16" => SafetensorsDType.BF16,
            "I64" => SafetensorsDType.I64,
            _ => throw new NotSupportedException(
                $"Safetensors file '{path}': tensor '{name}' has dtype '{Truncate(dtypeText)}'; only F32, F64, F16, BF16 and I64 can be loaded (as float32)."),
        };

        if (!value.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"tensor '{name}': missing or non-array \"shape\"");
        int rank = shapeEl.GetArrayLength();
        if (rank > MaxRank)
            throw Bad(path, $"tensor '{name}': rank {rank} exceeds the limit of {MaxRank}");
        var shape = new int[rank];
        long numel = 1;
        bool overflow = false;
        int i = 0;
        foreach (var dimEl in shapeEl.EnumerateArray())
        {
            if (dimEl.ValueKind != JsonValueKind.Number || !dimEl.TryGetInt64(out long dim))
                throw Bad(path, $"tensor '{name}': shape[{i}] is not an integer ({Truncate(dimEl.GetRawText())})");
            if (dim < 0)
                throw Bad(path, $"tensor '{name}': shape[{i}] is negative ({dim})");
            if (dim > int.MaxValue)
                throw Bad(path, $"tensor '{name}': shape[{i}] = {dim} is too large");
            shape[i++] = (int)dim;
            if (!overflow)
            {
                try { numel = checked(numel * dim); }
                catch (OverflowException) { overflow = true; }
            }
        }

        if (!value.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{name}': missing \"data_offsets\" or not an array [begin, end]");
        if (!offEl[0].TryGetInt64Safe(out long begin) || !offEl[1].TryGetInt64Safe(out long end))
            throw Bad(path, $"tensor '{name}': data_offsets {Truncate(offEl.GetRawText())} are not integers");
        if (begin < 0 || end < begin)
            throw Bad(path, $"tensor '{name}': data_offsets [{begin}, {end}] are not an increasing pair of non-negative integers");
        if (end > dataLength)
            throw Bad(path, $"tensor '{name}': data_offsets [{begin}, {end}] go beyond the {dataLength} bytes of data in the file");

        int size = ElementSize(dtype);
        if (overflow || numel > (end - begin) / size || numel * size != end - begin)
        {
            string expected = overflow ? "more than 2^63" : (numel * size).ToString();
            throw Bad(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtypeText} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }
        if (numel > int.MaxValue)
            throw new NotSupportedException(
                $"Safetensors file '{path}': tensor '{name}' has shape [{string.Join(", ", shape)}], {numel} elements; at most {int.MaxValue} (2^31 - 1) elements per tensor can be loaded.");
        if (numel == 0)
            throw new NotSupportedException($"Safetensors file '{path}': tensor '{name}' has shape [{string.Join(", ", shape)}] with no elements; empty tensors are not supported.");

        // A 0-dim scalar (shape []) becomes a one-element tensor of shape [1]: tensors have at least one dimension.
        return new Entry(name, dtype, rank == 0 ? [1] : shape, begin, end);
    }

    private static bool TryGetInt64Safe(this JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static InvalidDataException Bad(string path, string problem, Exception? inner = null)
        => new($"Safetensors file '{path}': {problem}.", inner);

    // ------------------------------------------------------------------------------------------
    // Data
    // ------------------------------------------------------------------------------------------

    private static void ReadData(FileStream stream, string path, long dataStart, Entry e, Span<float> dest)
    {
        stream.Position = dataStart + e.Begin;
        try
        {
            if (e.DType == SafetensorsDType.F32 && BitConverter.IsLittleEndian)
            {
                stream.ReadExactly(MemoryMarshal.AsBytes(dest));
                return;
            }

            int size = ElementSize(e.DType);
            const int ChunkElements = 1 << 14;
            byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkElements * size);
            try
            {
                int done = 0;
                while (done < dest.Length)
                {
                    int n = Math.Min(ChunkElements, dest.Length - done);
                    var bytes = buffer.AsSpan(0, n * size);
                    stream.ReadExactly(bytes);
                    var d = dest.Slice(done, n);
                    switch (e.DType)
                    {
                        case SafetensorsDType.F32:
                            for (int i = 0; i < n; i++) d[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                            break;
                        case SafetensorsDType.F64:
                            for (int i = 0; i < n; i++) d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                            break;
                        case SafetensorsDType.F16:
                            for (int i = 0; i < n; i++) d[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(2 * i)..]);
                            break;
                        case SafetensorsDType.BF16:
                            for (int i = 0; i < n; i++)
                                d[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]) << 16);
                            break;
                        case SafetensorsDType.I64:
                            for (int i = 0; i < n; i++) d[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(8 * i)..]);
                            break;
                        default:
                            throw new NotSupportedException($"Tensor '{e.Name}': dtype {e.DType} cannot be read.");
                    }
                    done += n;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (EndOfStreamException ex)
        {
            // Only possible if the file shrank after its header was validated.
            throw Bad(path, $"tensor '{e.Name}': data ends early (the file changed while being read)", ex);
        }
    }

    private static void WriteData(Stream fs, ReadOnlySpan<float> src, SafetensorsDType dtype)
    {
        if (dtype == SafetensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            fs.Write(MemoryMarshal.AsBytes(src));
            return;
        }
        int size = ElementSize(dtype);
        const int ChunkElements = 1 << 14;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkElements * size);
        try
        {
            int done = 0;
            while (done < src.Length)
            {
                int n = Math.Min(ChunkElements, src.Length - done);
                var bytes = buffer.AsSpan(0, n * size);
                var s = src.Slice(done, n);
                switch (dtype)
                {
                    case SafetensorsDType.F32:
                        for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes[(4 * i)..], s[i]);
                        break;
                    case SafetensorsDType.F64:
                        for (int i = 0; i < n; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes[(8 * i)..], s[i]);
                        break;
                    case SafetensorsDType.F16:
                        for (int i = 0; i < n; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes[(2 * i)..], (Half)s[i]);
                        break;
                    case SafetensorsDType.BF16:
                        for (int i = 0; i < n; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes[(2 * i)..], ToBFloat16(s[i]));
                        break;
                    case SafetensorsDType.I64:
                        for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes[(8 * i)..], (long)s[i]);
                        break;
                    default:
                        throw new NotSupportedException($"dtype {dtype} cannot be written.");
                }
                fs.Write(bytes);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40); // keep it a (quiet) NaN
        uint rounding = 0x7FFF + ((bits >> 16) & 1);                // round to nearest, ties to even
        return (ushort)((bits + rounding) >> 16);
    }

    private static byte[] BuildHeader(IEnumerable<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)> items,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject(MetadataKey);
            if (metadata is null)
                w.WriteString("format", "pt");
            else
                foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            foreach (var it in items)
            {
                w.WriteStartObject(it.Name);
                w.WriteString("dtype", it.DType.ToString());
                w.WriteStartArray("shape");
                foreach (int d in it.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(it.Begin);
                w.WriteNumberValue(it.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
        int len = (int)ms.Length;
        int padded = (len + 8 + 7) / 8 * 8 - 8;
        for (int i = len; i < padded; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}
