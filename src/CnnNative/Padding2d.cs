namespace CnnNative;

/// <summary>
/// Zero padding of a 2D convolution, per side (so that "same" padding works for even kernels).
/// </summary>
/// <param name="Top">Rows added above the input.</param>
/// <param name="Bottom">Rows added below the input.</param>
/// <param name="Left">Columns added left of the input.</param>
/// <param name="Right">Columns added right of the input.</param>
public readonly record struct Padding2d(int Top, int Bottom, int Left, int Right)
{
    /// <summary>No padding.</summary>
    public static Padding2d Zero => default;

    /// <summary>The same padding on both sides of each axis, like PyTorch's <c>padding=(h, w)</c>.</summary>
    /// <param name="height">Rows added above and below.</param>
    /// <param name="width">Columns added left and right.</param>
    public static Padding2d Symmetric(int height, int width) => new(height, height, width, width);

    /// <summary>The same padding on all four sides, like PyTorch's <c>padding=p</c>.</summary>
    /// <param name="padding">Rows or columns added on every side.</param>
    public static Padding2d Symmetric(int padding) => new(padding, padding, padding, padding);

    /// <summary>
    /// PyTorch's <c>padding='same'</c> (stride 1): per axis the total is <c>dilation * (kernel - 1)</c>,
    /// the top/left side gets <c>total / 2</c> and the bottom/right side the rest, so the output has the
    /// input's height and width.
    /// </summary>
    /// <param name="kernelHeight">Kernel height (&gt;= 1).</param>
    /// <param name="kernelWidth">Kernel width (&gt;= 1).</param>
    /// <param name="dilationHeight">Vertical dilation (&gt;= 1).</param>
    /// <param name="dilationWidth">Horizontal dilation (&gt;= 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A kernel size or dilation is below 1, or the padding overflows.</exception>
    public static Padding2d Same(int kernelHeight, int kernelWidth, int dilationHeight = 1, int dilationWidth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dilationWidth, 1);
        long totalHeight = (long)dilationHeight * (kernelHeight - 1);
        long totalWidth = (long)dilationWidth * (kernelWidth - 1);
        if (totalHeight > int.MaxValue || totalWidth > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                nameof(dilationHeight), $"'same' padding for kernel ({kernelHeight}, {kernelWidth}) and dilation ({dilationHeight}, {dilationWidth}) overflows.");
        }

        int top = (int)(totalHeight / 2);
        int left = (int)(totalWidth / 2);
        return new Padding2d(top, (int)totalHeight - top, left, (int)totalWidth - left);
    }

    /// <summary>Formats as <c>(top, bottom, left, right)</c>.</summary>
    public override string ToString() => $"(top {Top}, bottom {Bottom}, left {Left}, right {Right})";
}
