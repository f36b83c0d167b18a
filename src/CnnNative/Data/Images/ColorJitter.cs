using System.Globalization;

namespace CnnNative.Data;

/// <summary>
/// torchvision's <c>ColorJitter(brightness, contrast, saturation, hue)</c> on [0, 1] images: factors
/// b ~ U(max(0, 1 - brightness), 1 + brightness), c and s likewise, h ~ U(-hue, hue), applied in a random order
/// (torchvision's <c>randperm(4)</c>), each with torchvision's formula: brightness <c>clamp(b * x)</c>, contrast
/// <c>clamp(c * x + (1 - c) * mean(gray(x)))</c>, saturation <c>clamp(s * x + (1 - s) * gray(x))</c> per pixel,
/// hue a rotation of the HSV hue by h turns (gray = 0.2989 R + 0.587 G + 0.114 B). Saturation and hue leave a
/// 1-channel image unchanged, as torchvision does.
/// </summary>
/// <remarks>The same distributions and formulas as torchvision; the draws come from .NET's seeded <see cref="Random"/>.</remarks>
public sealed class ColorJitter : IImageTransform
{
    /// <summary>Creates the transform (0 disables a component).</summary>
    /// <param name="brightness">&gt;= 0.</param>
    /// <param name="contrast">&gt;= 0.</param>
    /// <param name="saturation">&gt;= 0.</param>
    /// <param name="hue">In [0, 0.5].</param>
    public ColorJitter(float brightness = 0, float contrast = 0, float saturation = 0, float hue = 0)
    {
        Check(brightness, 0, float.MaxValue, nameof(brightness));
        Check(contrast, 0, float.MaxValue, nameof(contrast));
        Check(saturation, 0, float.MaxValue, nameof(saturation));
        Check(hue, 0, 0.5f, nameof(hue));
        Brightness = brightness;
        Contrast = contrast;
        Saturation = saturation;
        Hue = hue;
    }

    /// <summary>Brightness jitter.</summary>
    public float Brightness { get; }

    /// <summary>Contrast jitter.</summary>
    public float Contrast { get; }

    /// <summary>Saturation jitter.</summary>
    public float Saturation { get; }

    /// <summary>Hue jitter (turns).</summary>
    public float Hue { get; }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        int[] order = [0, 1, 2, 3];
        random.Shuffle(order);
        float b = Factor(Brightness, random), c = Factor(Contrast, random), s = Factor(Saturation, random);
        float h = Hue > 0 ? (float)(-Hue + random.NextDouble() * 2 * Hue) : 0f;
        var result = new PlanarImage(image.Channels, image.Height, image.Width, (float[])image.Data.Clone());
        foreach (int op in order)
        {
            switch (op)
            {
                case 0 when Brightness > 0: AdjustBrightness(result, b); break;
                case 1 when Contrast > 0: AdjustContrast(result, c); break;
                case 2 when Saturation > 0: AdjustSaturation(result, s); break;
                case 3 when Hue > 0: AdjustHue(result, h); break;
            }
        }

        return result;
    }

    /// <summary>torchvision's <c>adjust_brightness</c>, in place.</summary>
    public static void AdjustBrightness(PlanarImage image, float factor)
    {
        Span<float> d = image.Data;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = Math.Clamp(d[i] * factor, 0f, 1f);
        }
    }

    /// <summary>torchvision's <c>adjust_contrast</c>, in place: blend with the mean of the grayscale image.</summary>
    public static void AdjustContrast(PlanarImage image, float factor)
    {
        double sum = 0;
        if (image.Channels == 3)
        {
            Span<float> r = image.Plane(0), g = image.Plane(1), bl = image.Plane(2);
            for (int i = 0; i < r.Length; i++)
            {
                sum += Gray(r[i], g[i], bl[i]);
            }
        }
        else
        {
            foreach (float v in image.Plane(0))
            {
                sum += v;
            }
        }

        float mean = (float)(sum / image.PlaneSize);
        Span<float> d = image.Data;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = Math.Clamp(factor * d[i] + (1 - factor) * mean, 0f, 1f);
        }
    }

    /// <summary>torchvision's <c>adjust_saturation</c>, in place: blend with the grayscale image (no-op on 1 channel).</summary>
    public static void AdjustSaturation(PlanarImage image, float factor)
    {
        if (image.Channels != 3)
        {
            return;
        }

        Span<float> r = image.Plane(0), g = image.Plane(1), b = image.Plane(2);
        for (int i = 0; i < r.Length; i++)
        {
            float gray = Gray(r[i], g[i], b[i]);
            r[i] = Math.Clamp(factor * r[i] + (1 - factor) * gray, 0f, 1f);
            g[i] = Math.Clamp(factor * g[i] + (1 - factor) * gray, 0f, 1f);
            b[i] = Math.Clamp(factor * b[i] + (1 - factor) * gray, 0f, 1f);
        }
    }

    /// <summary>torchvision's <c>adjust_hue</c>, in place: RGB -> HSV, hue + <paramref name="shift"/> mod 1, back (no-op on 1 channel).</summary>
    public static void AdjustHue(PlanarImage image, float shift)
    {
        if (image.Channels != 3)
        {
            return;
        }

        Span<float> r = image.Plane(0), g = image.Plane(1), b = image.Plane(2);
        for (int i = 0; i < r.Length; i++)
        {
            // torchvision's _rgb2hsv / _hsv2rgb.
            float max = Math.Max(r[i], Math.Max(g[i], b[i])), min = Math.Min(r[i], Math.Min(g[i], b[i]));
            float cr = max - min;
            float sat = cr / (max == 0 ? 1 : max);
            float div = cr == 0 ? 1 : cr;
            float rc = (max - r[i]) / div, gc = (max - g[i]) / div, bc = (max - b[i]) / div;
            float hue = max == r[i] ? bc - gc : max == g[i] ? 2f + rc - bc : 4f + gc - rc;
            hue = PositiveFraction(hue / 6f + 1f);
            hue = PositiveFraction(hue + shift);
            float v = max;
            float sector = hue * 6f;
            int k = (int)MathF.Floor(sector);
            float f = sector - k;
            k %= 6;
            float p = Math.Clamp(v * (1 - sat), 0f, 1f), q = Math.Clamp(v * (1 - sat * f), 0f, 1f), t = Math.Clamp(v * (1 - sat * (1 - f)), 0f, 1f);
            (r[i], g[i], b[i]) = k switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"ColorJitter(brightness {Brightness}, contrast {Contrast}, saturation {Saturation}, hue {Hue})");

    private static float Gray(float r, float g, float b) => 0.2989f * r + 0.587f * g + 0.114f * b;

    private static float PositiveFraction(float x) => x - MathF.Floor(x);

    private static float Factor(float amount, Random random) =>
        amount > 0 ? (float)(Math.Max(0, 1 - amount) + random.NextDouble() * (1 + amount - Math.Max(0, 1 - amount))) : 1f;

    private static void Check(float value, float min, float max, string name)
    {
        if (!(value >= min && value <= max) || !float.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}], got {value}.");
        }
    }
}
