using CnnNative.Data;
using CnnNative.IO;

namespace CnnNative.Cli;

/// <summary>Images (pixels in [0, 1], [N, 1, 28, 28] order) and their labels.</summary>
internal sealed record ImageSet(float[] Images, int[] Labels)
{
    public static readonly (int Channels, int Height, int Width) Shape = (1, 28, 28);

    public int Count => Labels.Length;

    /// <summary>A loader over the set: shuffled (seeded) for training, in order for evaluation.</summary>
    public DataLoader Loader(int batchSize, Normalization? normalization, bool shuffle = false, int seed = 0, Augmentation? augmentation = null)
        => new(Images, Labels, Shape, batchSize, shuffle, seed, dropLast: false, normalization, augmentation);
}

/// <summary>Loading Fashion-MNIST for the CLI, with user-facing errors (exit code 2).</summary>
internal static class FashionData
{
    public static ImageSet Load(string directory, bool train)
    {
        string split = train ? "training" : "test";
        LabeledImages data;
        try
        {
            data = FashionMnist.Load(train, directory);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            string prefix = train ? "train" : "t10k";
            throw new CliException(
                $"the Fashion-MNIST {split} set is not in {directory} (need {prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz).{Environment.NewLine}" +
                $"  Install Debian's package:  sudo apt-get install dataset-fashion-mnist{Environment.NewLine}" +
                $"  (it puts the files in {FashionMnist.DefaultDirectory}), or pass --data DIR.");
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the Fashion-MNIST {split} set in {directory}: {ex.Message}");
        }

        if (data.Images.Rows != ImageSet.Shape.Height || data.Images.Cols != ImageSet.Shape.Width)
        {
            throw new CliException($"the models take 28x28 images; the {split} set in {directory} has {data.Images.Rows}x{data.Images.Cols}.");
        }
        return new ImageSet(data.Images.Data, Array.ConvertAll(data.Labels, b => (int)b));
    }

    /// <summary>A seeded hold-out split (none when <paramref name="validationFraction"/> is 0).</summary>
    public static (ImageSet Train, ImageSet? Validation) Split(ImageSet all, double validationFraction, int seed)
    {
        if (validationFraction <= 0)
        {
            return (all, null);
        }
        DataSplit split;
        try
        {
            split = ValidationSplit.Split(all.Images, all.Labels, ImageSet.Shape, validationFraction, seed);
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"cannot split {all.Count} images with --val-split {validationFraction}: {ex.Message}");
        }
        return (new ImageSet(split.TrainImages, split.TrainLabels), new ImageSet(split.ValidationImages, split.ValidationLabels));
    }
}
