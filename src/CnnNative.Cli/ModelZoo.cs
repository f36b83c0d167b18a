using CnnNative.Models;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>The models the CLI can build by name (all take [N, 1, 28, 28] and give 10 logits).</summary>
internal static class ModelZoo
{
    public const string LeNet5Name = "lenet5";
    public const string CnnBnName = "cnn-bn";

    public static readonly string[] Names = [LeNet5Name, CnnBnName];

    /// <summary>Fashion-MNIST has 10 classes.</summary>
    public const int Classes = 10;

    /// <summary>Builds a CLI model through the library's zoo (only the 28x28 single-channel ones are offered here).</summary>
    public static Module Create(string name) => name switch
    {
        LeNet5Name or CnnBnName => CnnNative.Models.ModelZoo.Create(name, Classes),
        _ => throw new CliException($"unknown model '{name}' (expected {string.Join(" or ", Names)})."),
    };

    public static string Describe(string name) => name switch
    {
        LeNet5Name => "LeNet-5 (conv5x5 6 - pool - conv5x5 16 - pool - fc 120 - fc 84 - fc 10, ReLU)",
        CnnBnName => $"cnn-bn (2 x [conv3x3-BN-ReLU x2, maxpool 2], widths {CnnBn.DefaultWidth1}/{CnnBn.DefaultWidth2}, dropout {CnnBn.DefaultDropout}, linear)",
        _ => name,
    };
}
