namespace CnnNative.Data;

/// <summary>
/// A labelled image data set read sample by sample (torchvision's map-style <c>Dataset</c>), e.g. the
/// <c>ImageFolder</c> of CnnNative.Vision. <see cref="ImageDataLoader"/> calls <see cref="Load"/> from
/// several worker threads at once, so it must be thread-safe.
/// </summary>
public interface IImageDataset
{
    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>The number of classes (labels are 0 ... ClassCount - 1).</summary>
    int ClassCount { get; }

    /// <summary>The label of sample <paramref name="index"/> (no decoding).</summary>
    int GetLabel(int index);

    /// <summary>Decodes sample <paramref name="index"/> to floats in [0, 1] (thread-safe).</summary>
    /// <exception cref="InvalidDataException">The sample cannot be decoded (the message names it).</exception>
    PlanarImage Load(int index);

    /// <summary>Where sample <paramref name="index"/> comes from, for messages (a file path, ...).</summary>
    string Describe(int index);
}
