namespace CnnNative.Report;

/// <summary>Pictures of what a model computes: first-layer filters, activation maps, saliency; all tile grids.</summary>
public static class ModelPictures
{
    /// <summary>Activation grids show at most this many channels (the first ones).</summary>
    public const int MaxActivationChannels = 32;

    /// <summary>
    /// The filters of a convolution weight [O, I, kH, kW] as O tiles, each normalised on its own to [0, 1]: colour when
    /// I = 3 (the input's RGB), otherwise the mean over the input channels in gray.
    /// </summary>
    public static byte[] FilterGrid(float[] weight, int[] shape, int scale = 0)
    {
        if (shape.Length != 4 || weight.Length != shape[0] * shape[1] * shape[2] * shape[3])
            throw new ArgumentException($"a convolution weight needs shape [O, I, kH, kW] matching its {weight.Length} values, got [{string.Join(", ", shape)}].", nameof(shape));
        int o = shape[0], inputs = shape[1], kh = shape[2], kw = shape[3], plane = kh * kw;
        var tiles = new List<Tile>(o);
        for (int f = 0; f < o; f++)
        {
            float[] filter = weight.AsSpan(f * inputs * plane, inputs * plane).ToArray();
            if (inputs == 3)
            {
                Colormaps.NormalizeToUnit(filter);
                tiles.Add(Tile.FromRgbPlanes(filter, kh, kw));
            }
            else
            {
                var mean = new float[plane];
                for (int i = 0; i < inputs; i++)
                    for (int p = 0; p < plane; p++)
                        mean[p] += filter[i * plane + p] / inputs;
                Colormaps.NormalizeToUnit(mean);
                tiles.Add(Tile.FromPlane(mean, kh, kw, Colormaps.Gray));
            }
        }

        return TileGrid.RenderPng(tiles, TileGrid.SquareColumns(o), scale > 0 ? scale : ScaleFor(Math.Max(kh, kw), 64));
    }

    /// <summary>
    /// The first <see cref="MaxActivationChannels"/> channels of one sample's activation [C, H, W] in viridis, each
    /// normalised on its own (so a weak but structured channel stays visible; a constant one is flat green).
    /// </summary>
    public static byte[] ActivationGrid(float[] chw, int channels, int height, int width)
    {
        int shown = Math.Min(channels, MaxActivationChannels), plane = height * width;
        var tiles = new List<Tile>(shown);
        for (int c = 0; c < shown; c++)
        {
            float[] map = chw.AsSpan(c * plane, plane).ToArray();
            Colormaps.NormalizeToUnit(map);
            tiles.Add(Tile.FromPlane(map, height, width, Colormaps.Viridis));
        }

        return TileGrid.RenderPng(tiles, Math.Min(shown, 8), ScaleFor(Math.Max(height, width), 96));
    }

    /// <summary>
    /// The input (display values in [0, 1], gray or RGB) beside its saliency: |d score / d input| maximised over the
    /// channels, normalised to [0, 1], in inferno (bright = the pixels that move the top class score most).
    /// </summary>
    public static byte[] SaliencyPair(float[] inputChw, float[] gradientChw, int channels, int height, int width)
    {
        float[] saliency = SaliencyMap(gradientChw, channels, height, width);
        Colormaps.NormalizeToUnit(saliency);
        Tile input = channels == 3
            ? Tile.FromRgbPlanes(inputChw, height, width)
            : Tile.FromPlane(inputChw.AsSpan(0, height * width), height, width, Colormaps.Gray);
        return TileGrid.RenderPng([input, Tile.FromPlane(saliency, height, width, Colormaps.Inferno)], 2, ScaleFor(Math.Max(height, width), 256));
    }

    /// <summary>max over channels of |gradient| per pixel (Simonyan et al. 2014).</summary>
    public static float[] SaliencyMap(float[] gradientChw, int channels, int height, int width)
    {
        int plane = height * width;
        var map = new float[plane];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < plane; p++)
                map[p] = Math.Max(map[p], Math.Abs(gradientChw[c * plane + p]));
        return map;
    }

    /// <summary>The integer scale that brings a side of <paramref name="side"/> pixels near <paramref name="target"/>.</summary>
    private static int ScaleFor(int side, int target) => Math.Max(1, target / Math.Max(1, side));
}
