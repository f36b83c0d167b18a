using System.Globalization;

namespace CnnNative.Data;

/// <summary>
/// Seeded on-the-fly training augmentation: random translation by up to <see cref="MaxTranslation"/>
/// pixels in each direction (uncovered pixels are 0), horizontal flip with probability 0.5, and
/// additive Gaussian jitter with standard deviation <see cref="NoiseSigma"/>.
/// </summary>
/// <remarks>
/// <para>A <see cref="DataLoader"/> applies it per batch while copying the samples into its batch
/// tensor: flip and translation on the raw pixels (so the zero fill is the raw value 0, like
/// torchvision's padded <c>RandomCrop</c>), then the loader's <see cref="Normalization"/>, then the
/// jitter (so <see cref="NoiseSigma"/> is in units of the normalised input). The random draws of a
/// batch depend only on (<see cref="Seed"/>, epoch, batch number), so a run is reproducible whatever
/// was enumerated before. Give augmentation to the training loader only, or switch it off with
/// <see cref="DataLoader.AugmentationEnabled"/> for evaluation.</para>
/// </remarks>
public sealed class Augmentation
{
    /// <summary>Creates an augmentation; all-default arguments mean no change.</summary>
    /// <param name="maxTranslation">The largest shift in pixels, per axis (uniform in -k ... k, independently for rows and columns), &gt;= 0.</param>
    /// <param name="horizontalFlip">Whether to mirror each sample left-right with probability 0.5.</param>
    /// <param name="noiseSigma">Standard deviation of the additive Gaussian jitter, finite and &gt;= 0 (0: none).</param>
    /// <param name="seed">The seed of the random draws.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Augmentation(int maxTranslation = 0, bool horizontalFlip = false, float noiseSigma = 0f, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTranslation);
        if (!(noiseSigma >= 0f) || float.IsInfinity(noiseSigma))
        {
            throw new ArgumentOutOfRangeException(nameof(noiseSigma), noiseSigma, $"noiseSigma must be finite and >= 0, got {noiseSigma}.");
        }

        MaxTranslation = maxTranslation;
        HorizontalFlip = horizontalFlip;
        NoiseSigma = noiseSigma;
        Seed = seed;
    }

    /// <summary>The largest shift in pixels per axis.</summary>
    public int MaxTranslation { get; }

    /// <summary>Whether samples are mirrored left-right with probability 0.5.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Standard deviation of the additive Gaussian jitter.</summary>
    public float NoiseSigma { get; }

    /// <summary>The seed of the random draws.</summary>
    public int Seed { get; }

    /// <summary>Whether any transformation moves pixels (translation or flip).</summary>
    internal bool IsGeometric => MaxTranslation > 0 || HorizontalFlip;

    /// <summary>
    /// Augments samples in place (flip and translation, then jitter) with draws from <paramref name="random"/>:
    /// for use outside a <see cref="DataLoader"/>.
    /// </summary>
    /// <param name="samples">Samples in [N, C, H, W] order.</param>
    /// <param name="sampleShape">(C, H, W) of one sample.</param>
    /// <param name="random">The source of the random draws.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of C * H * W.</exception>
    public void Apply(Span<float> samples, (int Channels, int Height, int Width) sampleShape, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int sampleSize = DataChecks.SampleSize(sampleShape, nameof(sampleShape));
        if (samples.Length % sampleSize != 0)
        {
            throw new ArgumentException($"samples has {samples.Length} elements, not a multiple of the sample size {sampleSize}.", nameof(samples));
        }

        if (IsGeometric)
        {
            float[] copy = new float[sampleSize];
            for (int offset = 0; offset < samples.Length; offset += sampleSize)
            {
                Span<float> sample = samples.Slice(offset, sampleSize);
                sample.CopyTo(copy);
                CopyTransformed(copy, sample, sampleShape, random);
            }
        }

        AddNoise(samples, random);
    }

    /// <summary>
    /// Copies one sample from <paramref name="source"/> to <paramref name="destination"/> (same size, not
    /// overlapping), flipped and translated with fresh draws (flip first, then dy, dx).
    /// </summary>
    internal void CopyTransformed(ReadOnlySpan<float> source, Span<float> destination, (int Channels, int Height, int Width) shape, Random random)
    {
        bool flip = HorizontalFlip && random.NextDouble() < 0.5;
        int k = MaxTranslation;
        int dy = k > 0 ? random.Next(-k, k + 1) : 0;
        int dx = k > 0 ? random.Next(-k, k + 1) : 0;
        int h = shape.Height, w = shape.Width, plane = h * w;

        // destination[c, y, x] = source'[c, y - dy, x - dx], where source' is the (flipped) source.
        for (int c = 0; c < shape.Channels; c++)
        {
            ReadOnlySpan<float> src = source.Slice(c * plane, plane);
            Span<float> dst = destination.Slice(c * plane, plane);
            for (int y = 0; y < h; y++)
            {
                Span<float> row = dst.Slice(y * w, w);
                int sy = y - dy;
                if (sy < 0 || sy >= h)
                {
                    row.Clear();
                    continue;
                }

                ReadOnlySpan<float> srcRow = src.Slice(sy * w, w);
                for (int x = 0; x < w; x++)
                {
                    int sx = x - dx;
                    row[x] = sx < 0 || sx >= w ? 0f : srcRow[flip ? w - 1 - sx : sx];
                }
            }
        }
    }

    /// <summary>Adds N(0, <see cref="NoiseSigma"/>^2) to every element (nothing if the sigma is 0).</summary>
    internal void AddNoise(Span<float> values, Random random)
    {
        if (NoiseSigma == 0f)
        {
            return;
        }

        double sigma = NoiseSigma;
        for (int i = 0; i < values.Length; i += 2)
        {
            // Box-Muller: two samples per pair of uniforms.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double radius = sigma * Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            values[i] += (float)(radius * Math.Cos(angle));
            if (i + 1 < values.Length)
            {
                values[i + 1] += (float)(radius * Math.Sin(angle));
            }
        }
    }

    /// <summary>The settings, e.g. <c>Augmentation(translate 2, flip, sigma 0.1, seed 0)</c>.</summary>
    public override string ToString() =>
        $"Augmentation(translate {MaxTranslation}, {(HorizontalFlip ? "flip" : "no flip")}, sigma {NoiseSigma.ToString(CultureInfo.InvariantCulture)}, seed {Seed})";
}
