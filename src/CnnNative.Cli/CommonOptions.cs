using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using CnnNative.IO;

namespace CnnNative.Cli;

/// <summary>Options several commands share, and range checks that report a clear parse error (exit code 2).</summary>
internal static class CommonOptions
{
    public static Option<DirectoryInfo> Data() => new("--data", "-d")
    {
        Description = "Directory holding the Fashion-MNIST IDX files (train-*/t10k-*-ubyte.gz). Default: $CNN_FASHION_MNIST or " + FashionMnist.DefaultDirectory + ".",
        HelpName = "DIR",
        DefaultValueFactory = _ => new DirectoryInfo(
            Environment.GetEnvironmentVariable("CNN_FASHION_MNIST") is { Length: > 0 } dir ? dir : FashionMnist.DefaultDirectory),
    };

    public static Option<int> Batch(int defaultValue)
    {
        var option = new Option<int>("--batch", "-b")
        {
            Description = "Images per mini-batch (1 ... 65536).",
            HelpName = "N",
            DefaultValueFactory = _ => defaultValue,
        };
        AddRange(option, 1, 65536);
        return option.Numeric();
    }

    public static Option<int> Threads()
    {
        var option = new Option<int>("--threads", "-t")
        {
            Description = "Threads of the native kernels (1 ... 256; 0 = all hardware threads).",
            HelpName = "N",
            DefaultValueFactory = _ => 0,
        };
        AddRange(option, 0, 256);
        return option.Numeric();
    }

    public static Option<string> Isa()
    {
        var option = new Option<string>("--isa")
        {
            Description = "Kernel family.",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "reference", "avx2", "avx512");
        return option;
    }

    public static void AddRange(Option<int> option, int min, int max)
    {
        option.Validators.Add(result =>
        {
            // Only explicit values: a token that is not an integer is reported by the parser itself.
            if (result.Tokens.Count != 1 ||
                !int.TryParse(result.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            {
                return;
            }
            if (value < min || value > max)
            {
                result.AddError($"{option.Name} must be between {min} and {max}; got {value}.");
            }
        });
    }

    /// <summary>A floating-point option checked against [min, max] (or (min, max] when <paramref name="minExclusive"/>).</summary>
    public static void AddRange<T>(Option<T> option, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count != 1 ||
                !double.TryParse(result.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                return;
            }
            bool tooLow = minExclusive ? value <= min : value < min;
            bool tooHigh = maxExclusive ? value >= max : value > max;
            if (!double.IsFinite(value) || tooLow || tooHigh)
            {
                string lower = minExclusive ? "(" : "[";
                string upper = maxExclusive ? ")" : "]";
                string range = string.Create(CultureInfo.InvariantCulture, $"{lower}{min}, {max}{upper}");
                result.AddError($"{option.Name} must be in {range}; got {result.Tokens[0].Value}.");
            }
        });
    }

    /// <summary>Parses the option's value as a number with the invariant culture, with a plain error message for bad input.</summary>
    public static Option<T> Numeric<T>(this Option<T> option) where T : struct, INumber<T>
    {
        option.CustomParser = result => ParseNumber<T>(result, option.Name) ?? default;
        return option;
    }

    /// <summary>Like <see cref="Numeric{T}(Option{T})"/> for an optional value.</summary>
    public static Option<T?> Numeric<T>(this Option<T?> option) where T : struct, INumber<T>
    {
        option.CustomParser = result => ParseNumber<T>(result, option.Name);
        return option;
    }

    private static T? ParseNumber<T>(ArgumentResult result, string name) where T : struct, INumber<T>
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }
        string text = result.Tokens[^1].Value;
        bool integer = typeof(T) == typeof(int) || typeof(T) == typeof(long);
        if (T.TryParse(text, integer ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out T value))
        {
            return value;
        }
        result.AddError($"{name} expects {(integer ? "an integer" : "a number")}; got '{text}'.");
        return null;
    }
}
