using CnnNative.Data;
using SkiaSharp;

namespace CnnNative.Vision;

/// <summary>
/// Decodes PNG and JPEG files with SkiaSharp (Skia's libpng and libjpeg-turbo) into a
/// <see cref="PlanarImage"/> with values <c>byte / 255</c>: colour as unpremultiplied RGBA with the alpha
/// dropped (PIL's <c>convert("RGB")</c> does the same), gray PNGs as stored (replicated for
/// <see cref="ColorMode.Rgb"/>), colour to gray with PIL's <c>convert("L")</c> integer luma. Files are refused before decoding when they are not an image Skia knows
/// or declare more than <see cref="MaxPixels"/> pixels (a "decompression bomb" guard, as PIL's).
/// </summary>
public static class ImageDecoder
{
    /// <summary>The largest pixel count decoded (PIL's default MAX_IMAGE_PIXELS is about 89 M).</summary>
    public const long MaxPixels = 89_478_485;

    /// <summary>Decodes <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable PNG/JPEG, or too large (the message names the file).</exception>
    public static PlanarImage Decode(string path, ColorMode mode = ColorMode.Rgb)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = File.ReadAllBytes(path);
        return Decode(bytes, mode, path);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="mode">The channels to produce.</param>
    /// <param name="name">The name used in error messages.</param>
    /// <exception cref="InvalidDataException">Not a decodable PNG/JPEG, or too large.</exception>
    public static PlanarImage Decode(ReadOnlySpan<byte> encoded, ColorMode mode = ColorMode.Rgb, string name = "image")
    {
        unsafe
        {
            fixed (byte* p = encoded)
            {
                using var data = SKData.Create((IntPtr)p, encoded.Length);
                using SKCodec? codec = data is null ? null : SKCodec.Create(data);
                if (codec is null)
                {
                    throw new InvalidDataException($"{name}: not a PNG or JPEG image SkiaSharp can decode ({encoded.Length} bytes).");
                }

                SKImageInfo source = codec.Info;
                long pixels = (long)source.Width * source.Height;
                if (source.Width < 1 || source.Height < 1 || pixels > MaxPixels || source.Width > PlanarImage.MaxSide || source.Height > PlanarImage.MaxSide)
                {
                    throw new InvalidDataException(
                        $"{name}: {source.Width}x{source.Height} pixels; images must be 1 ... {PlanarImage.MaxSide} per side and at most {MaxPixels:N0} pixels.");
                }

                // Gray sources decode as gray; colour ones as RGBA (Skia does not convert colour to gray: done below).
                SKColorType target = source.ColorType == SKColorType.Gray8 ? SKColorType.Gray8 : SKColorType.Rgba8888;
                var info = new SKImageInfo(source.Width, source.Height, target, SKAlphaType.Unpremul);
                byte[] buffer = new byte[info.BytesSize64];
                SKCodecResult result;
                fixed (byte* dst = buffer)
                {
                    result = codec.GetPixels(info, (IntPtr)dst);
                }

                if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                {
                    throw new InvalidDataException($"{name}: decoding failed ({result}).");
                }

                if (result == SKCodecResult.IncompleteInput)
                {
                    throw new InvalidDataException($"{name}: the file is truncated (Skia decoded only part of it).");
                }

                int sourceChannels = target == SKColorType.Gray8 ? 1 : 4;
                if (sourceChannels == 4 && mode == ColorMode.Grayscale)
                {
                    ToLuma(buffer, info.Width * info.Height);
                    return PlanarImage.FromInterleaved(buffer.AsSpan(0, info.Width * info.Height), info.Height, info.Width, info.Width, 1, 1);
                }

                PlanarImage image = PlanarImage.FromInterleaved(buffer, info.Height, info.Width, info.RowBytes, sourceChannels,
                    Math.Min(sourceChannels, 3));
                return mode == ColorMode.Rgb && image.Channels == 1 ? new GrayscaleToRgb().Apply(image, Random.Shared) : image;
            }
        }
    }

    /// <summary>
    /// RGBA -> 8-bit luma in place (pixel i to byte i), with PIL's <c>convert("L")</c> rounding:
    /// L = (19595 R + 38470 G + 7471 B + 32768) &gt;&gt; 16 (ITU-R 601-2 weights 0.299, 0.587, 0.114).
    /// </summary>
    private static void ToLuma(byte[] rgba, int pixels)
    {
        for (int i = 0; i < pixels; i++)
        {
            int o = i * 4;
            rgba[i] = (byte)((19595 * rgba[o] + 38470 * rgba[o + 1] + 7471 * rgba[o + 2] + 32768) >> 16);
        }
    }
}
