namespace CnnNative.Data;

/// <summary>
/// One decoded image as floats in planar [C, H, W] order (torchvision's tensor layout after <c>ToTensor</c>):
/// values in [0, 1] from a decoder, any range after <see cref="Normalize"/>. The transforms of
/// <see cref="IImageTransform"/>s take and return these.
/// </summary>
public sealed class PlanarImage
{
    /// <summary>Creates an image over <paramref name="data"/> (C * H * W floats, [C, H, W] order), or zero-filled when null.</summary>
    /// <param name="channels">C, 1 ... 4.</param>
    /// <param name="height">H, 1 ... 65536.</param>
    /// <param name="width">W, 1 ... 65536.</param>
    /// <param name="data">The pixels (kept, not copied), or null for a new zeroed array.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="data"/> has another length than C * H * W.</exception>
    public PlanarImage(int channels, int height, int width, float[]? data = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(height, MaxSide);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(width, MaxSide);
        long length = (long)channels * height * width;
        if (data is not null && data.Length != length)
        {
            throw new ArgumentException($"data has {data.Length} floats; a {channels}x{height}x{width} image needs {length}.", nameof(data));
        }

        Channels = channels;
        Height = height;
        Width = width;
        Data = data ?? new float[length];
    }

    /// <summary>The largest height or width accepted (64 Ki pixels).</summary>
    public const int MaxSide = 65536;

    /// <summary>C.</summary>
    public int Channels { get; }

    /// <summary>H.</summary>
    public int Height { get; }

    /// <summary>W.</summary>
    public int Width { get; }

    /// <summary>The pixels, [C, H, W] order.</summary>
    public float[] Data { get; }

    /// <summary>H * W.</summary>
    public int PlaneSize => Height * Width;

    /// <summary>Channel <paramref name="c"/> as H * W floats.</summary>
    public Span<float> Plane(int c) => Data.AsSpan(c * PlaneSize, PlaneSize);

    /// <summary>(C, H, W).</summary>
    public (int Channels, int Height, int Width) Shape => (Channels, Height, Width);

    /// <summary>An image from 8-bit interleaved pixels (H rows of W * <paramref name="channels"/> bytes, row stride <paramref name="stride"/>), divided by 255.</summary>
    /// <param name="pixels">The interleaved pixels.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="stride">Bytes from one row to the next (&gt;= W * source channels).</param>
    /// <param name="sourceChannels">Bytes per pixel in <paramref name="pixels"/>, 1 ... 4.</param>
    /// <param name="channels">Channels to keep (the first ones), 1 ... <paramref name="sourceChannels"/>.</param>
    public static PlanarImage FromInterleaved(ReadOnlySpan<byte> pixels, int height, int width, int stride, int sourceChannels, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceChannels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sourceChannels, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, sourceChannels);
        var image = new PlanarImage(channels, height, width);
        if (stride < width * sourceChannels || (long)stride * (height - 1) + (long)width * sourceChannels > pixels.Length)
        {
            throw new ArgumentException(
                $"{pixels.Length} bytes with stride {stride} do not hold {height} rows of {width} pixels x {sourceChannels} bytes.", nameof(pixels));
        }

        float[] data = image.Data;
        int plane = image.PlaneSize;
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * stride, width * sourceChannels);
            int o = y * width;
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < channels; c++)
                {
                    // Divide, as torchvision's ToTensor does (x / 255, not x * (1 / 255)): the same floats.
                    data[c * plane + o + x] = row[x * sourceChannels + c] / 255f;
                }
            }
        }

        return image;
    }
}
