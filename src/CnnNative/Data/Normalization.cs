using System.Globalization;

namespace CnnNative.Data;

/// <summary>
/// Per-channel z-score normalisation, <c>x' = (x - mean[c]) / std[c]</c> (torchvision's
/// <c>transforms.Normalize</c>). Fit it on the training set only (<see cref="Fit"/>) and apply the same
/// object, unchanged, to the validation and test sets, so no statistic leaks from held-out data.
/// </summary>
public sealed class Normalization
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates a normalisation from known statistics (one scalar per channel).</summary>
    /// <param name="mean">The per-channel means (finite).</param>
    /// <param name="std">The per-channel standard deviations (finite, &gt; 0), as many as <paramref name="mean"/>.</param>
    /// <exception cref="ArgumentException">The arrays are empty, differ in length, or hold an invalid value.</exception>
    public Normalization(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
        {
            throw new ArgumentException($"mean has {mean.Count} channels and std {std.Count}; expected the same number, at least 1.", nameof(std));
        }

        _mean = [.. mean];
        _std = [.. std];
        for (int c = 0; c < _mean.Length; c++)
        {
            if (!float.IsFinite(_mean[c]))
            {
                throw new ArgumentException($"mean[{c}] is {_mean[c]}; expected a finite value.", nameof(mean));
            }

            if (!(_std[c] > 0f) || !float.IsFinite(_std[c]))
            {
                throw new ArgumentException($"std[{c}] is {_std[c]}; expected a finite value > 0.", nameof(std));
            }
        }
    }

    /// <summary>The number of channels.</summary>
    public int Channels => _mean.Length;

    /// <summary>The per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>The per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>
    /// Computes the per-channel mean and (population) standard deviation over every sample and pixel
    /// of <paramref name="images"/>, in double precision. Pass the training set only.
    /// </summary>
    /// <param name="images">Samples in [N, C, H, W] order.</param>
    /// <param name="sampleShape">(C, H, W) of one sample.</param>
    /// <exception cref="ArgumentException">The length is not a positive multiple of C * H * W, or a channel is constant (std 0) or not finite.</exception>
    public static Normalization Fit(ReadOnlySpan<float> images, (int Channels, int Height, int Width) sampleShape)
    {
        int sampleSize = DataChecks.SampleSize(sampleShape, nameof(sampleShape));
        if (images.Length == 0 || images.Length % sampleSize != 0)
        {
            throw new ArgumentException(
                $"images has {images.Length} elements, not a positive multiple of the sample size {sampleSize} ({sampleShape.Channels}x{sampleShape.Height}x{sampleShape.Width}).",
                nameof(images));
        }

        int channels = sampleShape.Channels;
        int plane = sampleShape.Height * sampleShape.Width;
        int count = images.Length / sampleSize;
        var sum = new double[channels];
        for (int n = 0; n < count; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                double s = 0;
                foreach (float x in images.Slice(n * sampleSize + c * plane, plane))
                {
                    s += x;
                }

                sum[c] += s;
            }
        }

        double perChannel = (double)count * plane;
        var mean = new double[channels];
        var squares = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            mean[c] = sum[c] / perChannel;
        }

        // Second pass around the mean (no cancellation).
        for (int n = 0; n < count; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                double s = 0, m = mean[c];
                foreach (float x in images.Slice(n * sampleSize + c * plane, plane))
                {
                    double d = x - m;
                    s += d * d;
                }

                squares[c] += s;
            }
        }

        var meanF = new float[channels];
        var stdF = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            meanF[c] = (float)mean[c];
            stdF[c] = (float)Math.Sqrt(squares[c] / perChannel);
            if (!(stdF[c] > 0f) || !float.IsFinite(stdF[c]) || !float.IsFinite(meanF[c]))
            {
                throw new ArgumentException(
                    $"channel {c} of the images has mean {mean[c].ToString(CultureInfo.InvariantCulture)} and standard deviation " +
                    $"{Math.Sqrt(squares[c] / perChannel).ToString(CultureInfo.InvariantCulture)}: it cannot be normalised (constant or not finite).",
                    nameof(images));
            }
        }

        return new Normalization(meanF, stdF);
    }

    /// <summary>Normalises samples in place.</summary>
    /// <param name="samples">Samples in [N, C, H, W] order; the length must be a multiple of <see cref="Channels"/> * <paramref name="planeSize"/>.</param>
    /// <param name="planeSize">H * W of one channel.</param>
    /// <exception cref="ArgumentException">The length does not fit.</exception>
    public void Apply(Span<float> samples, int planeSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(planeSize, 1);
        long sampleSize = (long)Channels * planeSize;
        if (samples.Length % sampleSize != 0)
        {
            throw new ArgumentException(
                $"samples has {samples.Length} elements, not a multiple of {Channels} channels x {planeSize} pixels.", nameof(samples));
        }

        for (int offset = 0; offset < samples.Length; offset += (int)sampleSize)
        {
            for (int c = 0; c < _mean.Length; c++)
            {
                float m = _mean[c], s = _std[c];
                Span<float> channel = samples.Slice(offset + c * planeSize, planeSize);
                for (int i = 0; i < channel.Length; i++)
                {
                    channel[i] = (channel[i] - m) / s;
                }
            }
        }
    }

    /// <summary>Normalises an [N, C, H, W] tensor in place (C must equal <see cref="Channels"/>).</summary>
    /// <param name="batch">The tensor, rank 4.</param>
    /// <exception cref="ArgumentException">The rank or channel count does not fit.</exception>
    public void Apply(Tensor batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Rank != 4 || batch.Size(1) != Channels)
        {
            throw new ArgumentException($"batch is {batch}; expected [N, {Channels}, H, W].", nameof(batch));
        }

        Apply(batch.AsSpan(), batch.Size(2) * batch.Size(3));
        batch.MarkWritten();
    }

    /// <summary>The statistics, e.g. <c>Normalization(mean [0.286], std [0.353])</c>.</summary>
    public override string ToString() =>
        $"Normalization(mean [{string.Join(", ", _mean.Select(m => m.ToString("G6", CultureInfo.InvariantCulture)))}], " +
        $"std [{string.Join(", ", _std.Select(s => s.ToString("G6", CultureInfo.InvariantCulture)))}])";
}
