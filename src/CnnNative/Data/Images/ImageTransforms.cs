using System.Globalization;

namespace CnnNative.Data;

/// <summary>
/// One step of an image pipeline (torchvision's <c>transforms</c>): takes a <see cref="PlanarImage"/> and
/// returns a new one (or the same object when nothing changes). Random transforms draw only from the
/// <see cref="Random"/> passed in, which <see cref="ImageDataLoader"/> seeds per (seed, epoch, sample), so a
/// run is reproducible whatever the number of worker threads.
/// </summary>
public interface IImageTransform
{
    /// <summary>Applies the transform.</summary>
    /// <param name="image">The input (not modified).</param>
    /// <param name="random">The source of the random draws (deterministic transforms ignore it).</param>
    PlanarImage Apply(PlanarImage image, Random random);
}

/// <summary>The transforms of <see cref="Transforms"/> in order (torchvision's <c>Compose</c>).</summary>
public sealed class Compose(params IImageTransform[] transforms) : IImageTransform
{
    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<IImageTransform> Transforms { get; } = Array.AsReadOnly(
        (transforms ?? throw new ArgumentNullException(nameof(transforms))).Select(t => t ?? throw new ArgumentException("a transform is null.", nameof(transforms))).ToArray());

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        foreach (IImageTransform t in Transforms)
        {
            image = t.Apply(image, random);
        }

        return image;
    }

    /// <inheritdoc />
    public override string ToString() => $"Compose({string.Join(", ", Transforms)})";
}

/// <summary>
/// torchvision's <c>Resize(size, antialias=True)</c> with bilinear interpolation. One size: the shorter
/// side becomes <c>size</c> and the longer <c>int(size * long / short)</c> (aspect kept); two sizes: exactly
/// (height, width).
/// </summary>
/// <remarks>
/// Antialias rule: always on, as torchvision's PIL path (every version) and its tensor path from 0.17
/// (where <c>antialias=True</c> became the default; 0.14-0.16 tensors default to no antialiasing). The
/// filter is PIL's / torch's antialiased triangle filter (see the remarks of the resampler) computed in
/// float32 without rounding between passes, i.e. it equals torchvision's tensor path
/// <c>F.resize(t, size, antialias=True)</c> on the same float pixels; PIL's uint8 path differs from it by
/// its 8-bit rounding after each pass (at most about 1/255).
/// </remarks>
public sealed class Resize : IImageTransform
{
    /// <summary>Resizes the shorter side to <paramref name="size"/>, keeping the aspect ratio.</summary>
    /// <param name="size">1 ... 65536.</param>
    public Resize(int size)
    {
        CheckSide(size, nameof(size));
        Size = size;
    }

    /// <summary>Resizes to exactly <paramref name="height"/> x <paramref name="width"/>.</summary>
    public Resize(int height, int width)
    {
        CheckSide(height, nameof(height));
        CheckSide(width, nameof(width));
        Height = height;
        Width = width;
    }

    /// <summary>The shorter side's new length (one-size form), or null.</summary>
    public int? Size { get; }

    /// <summary>The new height (two-size form), or null.</summary>
    public int? Height { get; }

    /// <summary>The new width (two-size form), or null.</summary>
    public int? Width { get; }

    /// <summary>The output (height, width) for an input of (height, width), torchvision's rule.</summary>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        if (Size is not int size)
        {
            return (Height!.Value, Width!.Value);
        }

        bool wide = width >= height;
        int shortSide = wide ? height : width, longSide = wide ? width : height;
        int newLong = (int)(size * (double)longSide / shortSide);
        return wide ? (size, newLong) : (newLong, size);
    }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        (int h, int w) = OutputSize(image.Height, image.Width);
        return h == image.Height && w == image.Width ? image : Resampling.ResizeRegion(image, 0, 0, image.Height, image.Width, h, w);
    }

    /// <inheritdoc />
    public override string ToString() => Size is int s ? $"Resize({s})" : $"Resize({Height}, {Width})";

    internal static void CheckSide(int value, string name)
    {
        if (value < 1 || value > PlanarImage.MaxSide)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in 1 ... {PlanarImage.MaxSide}, got {value}.");
        }
    }
}

/// <summary>
/// torchvision's <c>CenterCrop((height, width))</c>: the top-left corner is <c>round((H - h) / 2)</c>,
/// <c>round((W - w) / 2)</c> with Python's round-half-to-even; a crop larger than the image pads it with zeros first
/// (as torchvision does).
/// </summary>
public sealed class CenterCrop : IImageTransform
{
    /// <summary>A square crop.</summary>
    public CenterCrop(int size) : this(size, size)
    {
    }

    /// <summary>A height x width crop.</summary>
    public CenterCrop(int height, int width)
    {
        Resize.CheckSide(height, nameof(height));
        Resize.CheckSide(width, nameof(width));
        Height = height;
        Width = width;
    }

    /// <summary>The crop height.</summary>
    public int Height { get; }

    /// <summary>The crop width.</summary>
    public int Width { get; }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Height == Height && image.Width == Width)
        {
            return image;
        }

        // torchvision pads (left/top = (crop - size) // 2) when the crop is larger, then crops centrally.
        int top = (int)Math.Round((image.Height - Height) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((image.Width - Width) / 2.0, MidpointRounding.ToEven);
        if (Height > image.Height)
        {
            top = -((Height - image.Height) / 2);
        }

        if (Width > image.Width)
        {
            left = -((Width - image.Width) / 2);
        }

        return Crop(image, top, left, Height, Width);
    }

    /// <summary>The region (top, left, height, width) of <paramref name="image"/>; pixels outside it are 0.</summary>
    internal static PlanarImage Crop(PlanarImage image, int top, int left, int height, int width)
    {
        var result = new PlanarImage(image.Channels, height, width);
        for (int c = 0; c < image.Channels; c++)
        {
            ReadOnlySpan<float> src = image.Plane(c);
            Span<float> dst = result.Plane(c);
            for (int y = 0; y < height; y++)
            {
                int sy = top + y;
                if (sy < 0 || sy >= image.Height)
                {
                    continue;
                }

                int x0 = Math.Max(0, -left), x1 = Math.Min(width, image.Width - left);
                if (x1 > x0)
                {
                    src.Slice(sy * image.Width + left + x0, x1 - x0).CopyTo(dst.Slice(y * width + x0));
                }
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => $"CenterCrop({Height}, {Width})";
}

/// <summary>
/// torchvision's <c>RandomResizedCrop(size, scale, ratio)</c> with bilinear antialiased resizing: up to 10
/// tries at a region of area fraction U(scale) and aspect ratio log-U(ratio) that fits, else the central
/// crop clamped to the ratio range; the region is resized to (height, width).
/// </summary>
/// <remarks>The same distribution of crops as torchvision; the draws come from .NET's seeded
/// <see cref="Random"/>, so the crops are not the ones torch would draw with the same seed.</remarks>
public sealed class RandomResizedCrop : IImageTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="height">Output height.</param>
    /// <param name="width">Output width.</param>
    /// <param name="scaleMin">Smallest area fraction, in (0, scaleMax].</param>
    /// <param name="scaleMax">Largest area fraction, &lt;= 1.</param>
    /// <param name="ratioMin">Smallest aspect ratio w/h, in (0, ratioMax].</param>
    /// <param name="ratioMax">Largest aspect ratio w/h.</param>
    public RandomResizedCrop(int height, int width, double scaleMin = 0.08, double scaleMax = 1.0, double ratioMin = 3.0 / 4.0, double ratioMax = 4.0 / 3.0)
    {
        Resize.CheckSide(height, nameof(height));
        Resize.CheckSide(width, nameof(width));
        if (!(scaleMin > 0 && scaleMin <= scaleMax && scaleMax <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(scaleMin), $"need 0 < scaleMin <= scaleMax <= 1, got ({scaleMin}, {scaleMax}).");
        }

        if (!(ratioMin > 0 && ratioMin <= ratioMax && double.IsFinite(ratioMax)))
        {
            throw new ArgumentOutOfRangeException(nameof(ratioMin), $"need 0 < ratioMin <= ratioMax (finite), got ({ratioMin}, {ratioMax}).");
        }

        Height = height;
        Width = width;
        Scale = (scaleMin, scaleMax);
        Ratio = (ratioMin, ratioMax);
    }

    /// <summary>A square output.</summary>
    public RandomResizedCrop(int size) : this(size, size)
    {
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Area fraction range.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Aspect ratio (w/h) range.</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>The crop region (top, left, height, width) for an image of (height, width): torchvision's get_params.</summary>
    public (int Top, int Left, int Height, int Width) SampleRegion(int height, int width, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double area = (double)height * width;
        double logMin = Math.Log(Ratio.Min), logMax = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (Scale.Min + random.NextDouble() * (Scale.Max - Scale.Min));
            double aspect = Math.Exp(logMin + random.NextDouble() * (logMax - logMin));
            int w = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = random.Next(height - h + 1);
                int left = random.Next(width - w + 1);
                return (top, left, h, w);
            }
        }

        // Fallback: the whole image, narrowed to the ratio range, centred.
        double inRatio = (double)width / height;
        int ch = height, cw = width;
        if (inRatio < Ratio.Min)
        {
            ch = (int)Math.Round(cw / Ratio.Min, MidpointRounding.ToEven);
        }
        else if (inRatio > Ratio.Max)
        {
            cw = (int)Math.Round(ch * Ratio.Max, MidpointRounding.ToEven);
        }

        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        (int top, int left, int h, int w) = SampleRegion(image.Height, image.Width, random);
        return Resampling.ResizeRegion(image, top, left, h, w, Height, Width);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RandomResizedCrop({Height}, {Width}, scale ({Scale.Min}, {Scale.Max}), ratio ({Ratio.Min:G4}, {Ratio.Max:G4}))");
}

/// <summary>torchvision's <c>RandomHorizontalFlip(p)</c>: mirrors left-right with probability p.</summary>
public sealed class RandomHorizontalFlip : IImageTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="probability">In [0, 1].</param>
    public RandomHorizontalFlip(double probability = 0.5)
    {
        if (!(probability >= 0 && probability <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(probability), probability, $"probability must be in [0, 1], got {probability}.");
        }

        Probability = probability;
    }

    /// <summary>The flip probability.</summary>
    public double Probability { get; }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        if (!(random.NextDouble() < Probability))
        {
            return image;
        }

        var result = new PlanarImage(image.Channels, image.Height, image.Width);
        int w = image.Width;
        for (int row = 0; row < image.Channels * image.Height; row++)
        {
            ReadOnlySpan<float> src = image.Data.AsSpan(row * w, w);
            Span<float> dst = result.Data.AsSpan(row * w, w);
            src.CopyTo(dst);
            dst.Reverse();
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"RandomHorizontalFlip({Probability})");
}

/// <summary>
/// torchvision's <c>Normalize(mean, std)</c>: <c>(x - mean[c]) / std[c]</c> per channel (one value for
/// all channels when a single mean and std are given).
/// </summary>
public sealed class Normalize : IImageTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="mean">Per-channel means (finite), or one for every channel.</param>
    /// <param name="std">Per-channel standard deviations (finite, &gt; 0), as many as <paramref name="mean"/>.</param>
    public Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
        {
            throw new ArgumentException($"mean has {mean.Length} values and std {std.Length}; need the same number, >= 1.", nameof(std));
        }

        for (int i = 0; i < mean.Length; i++)
        {
            if (!float.IsFinite(mean[i]) || !(std[i] > 0) || !float.IsFinite(std[i]))
            {
                throw new ArgumentOutOfRangeException(nameof(std), $"mean[{i}] = {mean[i]}, std[{i}] = {std[i]}: need a finite mean and a finite std > 0.");
            }
        }

        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>ImageNet's statistics, as used with torchvision's pretrained weights.</summary>
    public static Normalize ImageNet() => new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>The means.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>The standard deviations.</summary>
    public IReadOnlyList<float> Std { get; }

    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (Mean.Count != 1 && Mean.Count != image.Channels)
        {
            throw new ArgumentException($"Normalize has {Mean.Count} channels; the image has {image.Channels}.", nameof(image));
        }

        var result = new PlanarImage(image.Channels, image.Height, image.Width);
        for (int c = 0; c < image.Channels; c++)
        {
            float mean = Mean[Mean.Count == 1 ? 0 : c], std = Std[Mean.Count == 1 ? 0 : c];
            ReadOnlySpan<float> src = image.Plane(c);
            Span<float> dst = result.Plane(c);
            for (int i = 0; i < src.Length; i++)
            {
                // torchvision: tensor.sub_(mean).div_(std), in that order (not a multiply by 1/std).
                dst[i] = (src[i] - mean) / std;
            }
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"Normalize(mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}])");
}

/// <summary>
/// Grayscale to three channels: a 1-channel image is replicated to R = G = B (what torchvision's
/// ImageFolder loader does with <c>convert("RGB")</c>, and <c>Grayscale(3)</c> on a gray image); a
/// 3-channel image passes unchanged.
/// </summary>
public sealed class GrayscaleToRgb : IImageTransform
{
    /// <inheritdoc />
    public PlanarImage Apply(PlanarImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels == 3)
        {
            return image;
        }

        if (image.Channels != 1)
        {
            throw new ArgumentException($"GrayscaleToRgb takes 1 or 3 channels, got {image.Channels}.", nameof(image));
        }

        var result = new PlanarImage(3, image.Height, image.Width);
        for (int c = 0; c < 3; c++)
        {
            image.Plane(0).CopyTo(result.Plane(c));
        }

        return result;
    }

    /// <inheritdoc />
    public override string ToString() => "GrayscaleToRgb()";
}
