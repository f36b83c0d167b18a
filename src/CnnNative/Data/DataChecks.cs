namespace CnnNative.Data;

/// <summary>Checks shared by the data classes.</summary>
internal static class DataChecks
{
    /// <summary>Validates a (C, H, W) sample shape and returns C * H * W.</summary>
    public static int SampleSize((int Channels, int Height, int Width) shape, string paramName)
    {
        if (shape.Channels < 1 || shape.Height < 1 || shape.Width < 1)
        {
            throw new ArgumentOutOfRangeException(
                paramName, shape, $"the sample shape (C, H, W) = ({shape.Channels}, {shape.Height}, {shape.Width}) needs every dimension >= 1.");
        }

        long size = (long)shape.Channels * shape.Height * shape.Width;
        if (size > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                paramName, shape, $"the sample shape ({shape.Channels}, {shape.Height}, {shape.Width}) has {size} elements, more than {int.MaxValue}.");
        }

        return (int)size;
    }

    /// <summary>Validates images against labels and the sample size; returns the sample count.</summary>
    public static int SampleCount(int imagesLength, int labelsLength, int sampleSize, (int Channels, int Height, int Width) shape)
    {
        if (labelsLength == 0)
        {
            throw new ArgumentException("the data set is empty (no labels).", "labels");
        }

        if ((long)labelsLength * sampleSize != imagesLength)
        {
            throw new ArgumentException(
                $"images has {imagesLength} elements; {labelsLength} labels of shape ({shape.Channels}, {shape.Height}, {shape.Width}) need {(long)labelsLength * sampleSize}.",
                "images");
        }

        return labelsLength;
    }

    /// <summary>A well-mixed 32-bit seed from a seed and up to two stream numbers (SplitMix64).</summary>
    public static int Mix(int seed, long a, long b = 0)
    {
        ulong z = (ulong)(uint)seed;
        z = Next(z ^ (ulong)a * 0x9E3779B97F4A7C15UL);
        z = Next(z ^ (ulong)b * 0xC2B2AE3D27D4EB4FUL);
        return (int)(z >> 33);

        static ulong Next(ulong x)
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
