using CnnNative.Models;
using CnnNative.Nn;

namespace CnnNative.Cli;

/// <summary>The models the CLI can build by name (all take [N, 1, 28, 28] and give 10 logits).</summary>
internal static class ModelZoo
{
    public const string LeNet5Name = "lenet5";
    public const string CnnBnName = "cnn-bn";

    public static readonly string[] Names = [LeNet5Name, CnnBnName];

    public static Module Create(string name) => name switch
    {
        LeNet5Name => new LeNet5(),
        CnnBnName => new CnnBn(),
        _ => throw new CliException($"unknown model '{name}' (expected {string.Join(" or ", Names)})."),
    };

    public static string Describe(string name) => name switch
    {
        LeNet5Name => "LeNet-5 (conv5x5 6 - pool - conv5x5 16 - pool - fc 120 - fc 84 - fc 10, ReLU)",
        CnnBnName => $"cnn-bn (2 x [conv3x3-BN-ReLU x2, maxpool 2], widths {CnnBn.DefaultWidth1}/{CnnBn.DefaultWidth2}, dropout {CnnBn.DefaultDropout}, linear)",
        _ => name,
    };
}
