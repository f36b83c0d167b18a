using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TT = TorchSharp.torch.Tensor;

namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The torch side's own safetensors writer and reader, written from the format's description (u64 LE header size,
/// JSON header with dtype / shape / data_offsets, raw little-endian data) and independent of CnnNative's: files torch
/// writes here check CnnNative's loader, files CnnNative writes are checked by this reader. TorchSharp 0.107 has no
/// safetensors support of its own.
/// </summary>
public static class TorchSafetensors
{
    /// <summary>
    /// Writes <paramref name="entries"/> to <paramref name="path"/> in order: int64 tensors (num_batches_tracked) as I64,
    /// like torch's own files, every other tensor as F32.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, TT Tensor)> entries)
    {
        var header = new JsonObject();
        var blobs = new List<TT>();
        long offset = 0;
        using var scope = torch.NewDisposeScope();
        foreach (var (name, t) in entries)
        {
            bool isInt = t.dtype == torch.ScalarType.Int64;
            TT data = (isInt ? t.detach() : t.detach().to_type(torch.ScalarType.Float32)).contiguous();
            long bytes = data.NumberOfElements * (isInt ? 8 : 4);
            header[name] = new JsonObject
            {
                ["dtype"] = isInt ? "I64" : "F32",
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            blobs.Add(data);
            offset += bytes;
        }

        header["__metadata__"] = new JsonObject { ["format"] = "pt", ["writer"] = "tests/CnnNative.Tests TorchSafetensors" };
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        using var file = File.Create(path);
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)padded);
        file.Write(size);
        file.Write(json);
        file.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        foreach (TT blob in blobs)
        {
            file.Write(blob.bytes);
        }
    }

    /// <summary>
    /// Reads a safetensors file (F32, F64, I64) into torch tensors in the file's order, checking that every entry's
    /// offsets match its shape and dtype and that the data section holds exactly the tensors; throws
    /// <see cref="InvalidDataException"/> naming the entry otherwise. Returns the entries and the metadata.
    /// </summary>
    public static (List<(string Name, TT Tensor)> Entries, JsonObject? Metadata) Read(string path)
    {
        byte[] blob = File.ReadAllBytes(path);
        if (blob.Length < 8)
        {
            throw new InvalidDataException($"{path}: {blob.Length} bytes, shorter than the 8-byte header size");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(blob);
        if (n > (ulong)(blob.Length - 8))
        {
            throw new InvalidDataException($"{path}: header size {n} exceeds the file ({blob.Length} bytes)");
        }

        var header = JsonNode.Parse(blob.AsSpan(8, (int)n))!.AsObject();
        int dataStart = 8 + (int)n;
        long dataLength = blob.Length - dataStart, endMax = 0;
        var entries = new List<(string, TT)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                continue;
            }

            string dtype = node!["dtype"]!.GetValue<string>();
            long[] shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
            long begin = node["data_offsets"]![0]!.GetValue<long>(), end = node["data_offsets"]![1]!.GetValue<long>();
            int itemSize = dtype switch
            {
                "F32" => 4,
                "F64" => 8,
                "I64" => 8,
                _ => throw new InvalidDataException($"{path}: {name} has dtype {dtype} (expected F32, F64 or I64)"),
            };
            long count = shape.Aggregate(1L, (a, d) => a * d);
            if (begin < 0 || end - begin != count * itemSize || end > dataLength)
            {
                throw new InvalidDataException($"{path}: {name} has offsets [{begin}, {end}] for shape [{string.Join(", ", shape)}] {dtype} in {dataLength} data bytes");
            }

            endMax = Math.Max(endMax, end);
            var bytes = blob.AsSpan(dataStart + (int)begin, (int)(end - begin));
            TT t = dtype switch
            {
                "F32" => torch.tensor(Decode(bytes, 4, (s, i) => BinaryPrimitives.ReadSingleLittleEndian(s[i..])), shape),
                "F64" => torch.tensor(Decode(bytes, 8, (s, i) => BinaryPrimitives.ReadDoubleLittleEndian(s[i..])), shape),
                _ => torch.tensor(Decode(bytes, 8, (s, i) => BinaryPrimitives.ReadInt64LittleEndian(s[i..])), shape),
            };
            entries.Add((name, t));
        }

        if (endMax != dataLength)
        {
            throw new InvalidDataException($"{path}: the data section is {dataLength} bytes but the tensors end at {endMax}");
        }

        return (entries, header["__metadata__"]?.AsObject());
    }

    private delegate T Reader<T>(ReadOnlySpan<byte> s, int offset);

    private static T[] Decode<T>(ReadOnlySpan<byte> bytes, int size, Reader<T> read)
    {
        var values = new T[bytes.Length / size];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = read(bytes, i * size);
        }

        return values;
    }
}
