using SkiaSharp;

namespace CnnNative.Report;

/// <summary>One image of a grid: <see cref="Rgb"/> holds Height x Width pixels, 3 bytes each, row-major.</summary>
public sealed record Tile(int Height, int Width, byte[] Rgb)
{
    /// <summary>A tile from one plane of values already in [0, 1], coloured by <paramref name="colormap"/>.</summary>
    public static Tile FromPlane(ReadOnlySpan<float> plane, int height, int width, Func<double, (byte R, byte G, byte B)> colormap)
    {
        var rgb = new byte[height * width * 3];
        for (int i = 0; i < height * width; i++)
            (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = colormap(Math.Clamp(plane[i], 0f, 1f));
        return new Tile(height, width, rgb);
    }

    /// <summary>A colour tile from three planar channels (R, G, B) already in [0, 1].</summary>
    public static Tile FromRgbPlanes(ReadOnlySpan<float> chw, int height, int width)
    {
        int n = height * width;
        var rgb = new byte[n * 3];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = Colormaps.ToByte(chw[c * n + i]);
        return new Tile(height, width, rgb);
    }
}

/// <summary>
/// Draws tiles on a grid, each scaled up by an integer factor (nearest neighbour, so single weights stay visible as
/// squares), separated by <see cref="Gap"/> pixels of <see cref="SeparatorColor"/> around and between tiles.
/// </summary>
public static class TileGrid
{
    /// <summary>Separator width in pixels.</summary>
    public const int Gap = 2;

    /// <summary>Colour of the separators (white).</summary>
    public static readonly (byte R, byte G, byte B) SeparatorColor = (255, 255, 255);

    /// <summary>The PNG of the grid; all tiles must have the same size.</summary>
    /// <param name="tiles">The tiles, left to right, top to bottom.</param>
    /// <param name="columns">Tiles per row.</param>
    /// <param name="scale">Pixels per tile pixel (1 or more).</param>
    public static byte[] RenderPng(IReadOnlyList<Tile> tiles, int columns, int scale)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tiles.Count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        int th = tiles[0].Height, tw = tiles[0].Width;
        if (tiles.Any(t => t.Height != th || t.Width != tw))
            throw new ArgumentException("all tiles of a grid must have the same size.", nameof(tiles));
        columns = Math.Min(columns, tiles.Count);
        int rows = (tiles.Count + columns - 1) / columns;
        int cellW = tw * scale, cellH = th * scale;
        int width = columns * (cellW + Gap) + Gap, height = rows * (cellH + Gap) + Gap;

        var rgba = new byte[width * height * 4];
        for (int i = 0; i < width * height; i++)
        {
            (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = (SeparatorColor.R, SeparatorColor.G, SeparatorColor.B, 255);
        }

        for (int t = 0; t < tiles.Count; t++)
        {
            int x0 = Gap + (t % columns) * (cellW + Gap), y0 = Gap + (t / columns) * (cellH + Gap);
            byte[] src = tiles[t].Rgb;
            for (int y = 0; y < cellH; y++)
                for (int x = 0; x < cellW; x++)
                {
                    int s = 3 * ((y / scale) * tw + x / scale), d = 4 * ((y0 + y) * width + x0 + x);
                    rgba[d] = src[s];
                    rgba[d + 1] = src[s + 1];
                    rgba[d + 2] = src[s + 2];
                }
        }

        return EncodePng(rgba, width, height);
    }

    /// <summary>The column count that makes a grid of <paramref name="count"/> tiles roughly square.</summary>
    public static int SquareColumns(int count) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(count)));

    internal static byte[] EncodePng(byte[] rgba, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using SKImage image = SKImage.FromPixelCopy(info, rgba);
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
