namespace CnnNative.Data;

/// <summary>
/// Bilinear resampling with antialiasing, the algorithm of PIL's <c>Image.resize(BILINEAR)</c> and of
/// torch's <c>interpolate(mode="bilinear", antialias=True, align_corners=False)</c>: a separable triangle
/// filter whose support grows with the downscale factor (so shrinking averages every covered source
/// pixel instead of sampling two), normalised over the taps inside the image. For upscaling it is plain
/// half-pixel bilinear interpolation with edge clamping. Computed in float32 with no intermediate rounding
/// (torch's tensor path; PIL rounds to 8 bits after each pass).
/// </summary>
internal static class Resampling
{
    /// <summary>The taps of one output position: first source index, count, and the offset of its weights.</summary>
    private readonly record struct Taps(int First, int Count, int WeightOffset);

    /// <summary>Resamples the region (top, left, height, width) of <paramref name="source"/> to outHeight x outWidth.</summary>
    public static PlanarImage ResizeRegion(PlanarImage source, int top, int left, int height, int width, int outHeight, int outWidth)
    {
        (Taps[] xTaps, float[] xWeights) = Coefficients(width, outWidth);
        (Taps[] yTaps, float[] yWeights) = Coefficients(height, outHeight);
        var result = new PlanarImage(source.Channels, outHeight, outWidth);
        float[] rows = new float[height * outWidth];
        for (int c = 0; c < source.Channels; c++)
        {
            ReadOnlySpan<float> plane = source.Plane(c);
            // Horizontal pass over the region's rows -> rows[height, outWidth].
            for (int y = 0; y < height; y++)
            {
                ReadOnlySpan<float> src = plane.Slice((top + y) * source.Width + left, width);
                Span<float> dst = rows.AsSpan(y * outWidth, outWidth);
                for (int x = 0; x < outWidth; x++)
                {
                    Taps t = xTaps[x];
                    float sum = 0;
                    for (int k = 0; k < t.Count; k++)
                    {
                        sum += src[t.First + k] * xWeights[t.WeightOffset + k];
                    }

                    dst[x] = sum;
                }
            }

            // Vertical pass -> the output plane.
            Span<float> output = result.Plane(c);
            for (int y = 0; y < outHeight; y++)
            {
                Taps t = yTaps[y];
                Span<float> dst = output.Slice(y * outWidth, outWidth);
                dst.Clear();
                for (int k = 0; k < t.Count; k++)
                {
                    float w = yWeights[t.WeightOffset + k];
                    ReadOnlySpan<float> src = rows.AsSpan((t.First + k) * outWidth, outWidth);
                    for (int x = 0; x < outWidth; x++)
                    {
                        dst[x] += src[x] * w;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Per output position, the source taps and normalised triangle-filter weights (PIL's precompute_coeffs).</summary>
    private static (Taps[] Taps, float[] Weights) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterScale; // the triangle filter's support is 1, stretched when shrinking
        double invFilterScale = 1.0 / filterScale;
        var taps = new Taps[outSize];
        var weights = new List<float>(outSize * ((int)Math.Ceiling(support) * 2 + 1));
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int first = Math.Max((int)(center - support + 0.5), 0);
            int count = Math.Min((int)(center + support + 0.5), inSize) - first;
            int offset = weights.Count;
            double total = 0;
            for (int k = 0; k < count; k++)
            {
                double v = Triangle((k + first - center + 0.5) * invFilterScale);
                total += v;
                weights.Add((float)v);
            }

            if (total != 0)
            {
                for (int k = 0; k < count; k++)
                {
                    weights[offset + k] = (float)(weights[offset + k] / total);
                }
            }

            taps[i] = new Taps(first, count, offset);
        }

        return (taps, weights.ToArray());

        static double Triangle(double x)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    }
}
