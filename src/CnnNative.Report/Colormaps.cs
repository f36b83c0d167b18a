namespace CnnNative.Report;

/// <summary>Value-in-[0, 1] to colour maps for the tiles, and the [0, 1] normalisation they expect.</summary>
public static class Colormaps
{
    private static readonly ScottPlot.IColormap ViridisMap = new ScottPlot.Colormaps.Viridis();
    private static readonly ScottPlot.IColormap InfernoMap = new ScottPlot.Colormaps.Inferno();

    /// <summary>Black to white: filters and gray inputs.</summary>
    public static (byte R, byte G, byte B) Gray(double v)
    {
        byte b = ToByte((float)v);
        return (b, b, b);
    }

    /// <summary>Perceptually uniform dark blue to yellow: activation maps.</summary>
    public static (byte R, byte G, byte B) Viridis(double v) => FromScottPlot(ViridisMap.GetColor(v));

    /// <summary>Black through red to pale yellow: saliency (dark = no influence).</summary>
    public static (byte R, byte G, byte B) Inferno(double v) => FromScottPlot(InfernoMap.GetColor(v));

    internal static byte ToByte(float v) => (byte)Math.Round(255 * Math.Clamp(v, 0f, 1f));

    /// <summary>
    /// Maps <paramref name="values"/> linearly so that its minimum becomes 0 and its maximum 1, in place; a constant
    /// span becomes 0.5 everywhere (nothing to show, and no division by zero).
    /// </summary>
    public static void NormalizeToUnit(Span<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        float range = max - min;
        for (int i = 0; i < values.Length; i++)
            values[i] = range > 0 ? (values[i] - min) / range : 0.5f;
    }

    private static (byte R, byte G, byte B) FromScottPlot(ScottPlot.Color c) => (c.R, c.G, c.B);
}
