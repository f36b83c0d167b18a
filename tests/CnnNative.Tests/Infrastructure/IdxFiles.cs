using System.Buffers.Binary;

namespace CnnNative.Tests.Infrastructure;

/// <summary>Builds IDX files (the Fashion-MNIST format) in memory.</summary>
public static class IdxFiles
{
    /// <summary>A big-endian magic, big-endian dims, then <paramref name="data"/>.</summary>
    public static byte[] Bytes(int magic, int[] dims, byte[] data)
    {
        byte[] all = new byte[4 + (4 * dims.Length) + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(all, magic);
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(all.AsSpan(4 + (4 * i)), dims[i]);
        }

        data.CopyTo(all, 4 + (4 * dims.Length));
        return all;
    }
}
