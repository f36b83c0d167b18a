using CnnNative.Data;

namespace CnnNative.Vision;

/// <summary>How an <see cref="ImageFolder"/> turns decoded pixels into channels.</summary>
public enum ColorMode
{
    /// <summary>Three channels R, G, B (gray images replicated, alpha dropped): torchvision's default loader, <c>convert("RGB")</c>.</summary>
    Rgb,

    /// <summary>One channel (colour images converted with Skia's luma weights; gray images as stored).</summary>
    Grayscale,
}

/// <summary>
/// torchvision's <c>ImageFolder</c>: <c>ROOT/&lt;class&gt;/&lt;file&gt;</c>, one subfolder per class, classes
/// sorted by ordinal name (label = position), files with the extensions .png, .jpg, .jpeg (any case)
/// found recursively in each class folder and sorted by ordinal path. Samples are decoded on demand with
/// <see cref="ImageDecoder"/> (SkiaSharp) into floats in [0, 1]; thread-safe for <see cref="ImageDataLoader"/>'s workers.
/// </summary>
public sealed class ImageFolder : IImageDataset
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];
    private readonly string[] _paths;
    private readonly int[] _labels;

    /// <summary>Scans <paramref name="root"/> (no file is decoded here).</summary>
    /// <param name="root">The folder with one subfolder per class.</param>
    /// <param name="colorMode">The channels of a decoded sample.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">There is no class folder, or a class folder has no image.</exception>
    public ImageFolder(string root, ColorMode colorMode = ColorMode.Rgb)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (!Enum.IsDefined(colorMode))
        {
            throw new ArgumentOutOfRangeException(nameof(colorMode), colorMode, "colorMode must be Rgb or Grayscale.");
        }

        Root = Path.GetFullPath(root);
        if (!Directory.Exists(Root))
        {
            throw new DirectoryNotFoundException($"the image folder {Root} does not exist.");
        }

        ColorMode = colorMode;
        string[] classDirs = Directory.GetDirectories(Root);
        Array.Sort(classDirs, StringComparer.Ordinal);
        if (classDirs.Length == 0)
        {
            throw new InvalidDataException($"{Root} has no class folders: an ImageFolder needs ROOT/<class>/<image>.png|jpg.");
        }

        Classes = Array.AsReadOnly(classDirs.Select(d => Path.GetFileName(d)).ToArray());
        var paths = new List<string>();
        var labels = new List<int>();
        for (int c = 0; c < classDirs.Length; c++)
        {
            string[] files = Directory.EnumerateFiles(classDirs[c], "*", SearchOption.AllDirectories)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .ToArray();
            if (files.Length == 0)
            {
                throw new InvalidDataException($"the class folder {classDirs[c]} has no .png, .jpg or .jpeg file.");
            }

            Array.Sort(files, StringComparer.Ordinal);
            paths.AddRange(files);
            labels.AddRange(Enumerable.Repeat(c, files.Length));
        }

        _paths = paths.ToArray();
        _labels = labels.ToArray();
    }

    /// <summary>The root folder (full path).</summary>
    public string Root { get; }

    /// <summary>How samples are decoded.</summary>
    public ColorMode ColorMode { get; }

    /// <summary>The class names (subfolder names), label order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <inheritdoc />
    public int Count => _paths.Length;

    /// <inheritdoc />
    public int ClassCount => Classes.Count;

    /// <summary>The file of sample <paramref name="index"/>.</summary>
    public string PathOf(int index) => _paths[index];

    /// <inheritdoc />
    public int GetLabel(int index) => _labels[index];

    /// <inheritdoc />
    public PlanarImage Load(int index) => ImageDecoder.Decode(_paths[index], ColorMode);

    /// <inheritdoc />
    public string Describe(int index) => _paths[index];
}
