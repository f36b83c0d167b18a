namespace CnnNative.BindingsGen.Tests;

/// <summary>Runs the generator's command line in-process on a synthetic header in a temporary directory.</summary>
internal sealed record GeneratorRun(int ExitCode, string? Text, string Stdout, string Stderr)
{
    /// <summary>What every synthetic header starts with: the fixed-width types, bool and the export macro.</summary>
    public const string Preamble = """
        #include <stdint.h>
        #include <stdbool.h>
        #define CNN_API __attribute__((visibility("default")))

        """;

    public static GeneratorRun Of(string headerBody, params string[] extraArgs)
    {
        string dir = Directory.CreateTempSubdirectory("cnn-bindgen-test-").FullName;
        try
        {
            string header = Path.Combine(dir, "test.h"), output = Path.Combine(dir, "Out.g.cs");
            File.WriteAllText(header, Preamble + headerBody);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = Cli.Run(["--header", header, "--output", output, .. extraArgs], stdout, stderr);
            string? text = File.Exists(output) ? File.ReadAllText(output) : null;
            return new GeneratorRun(rc, text, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The generated C# of a header that must map (fails with the generator's message if not).</summary>
    public static string Ok(string headerBody)
    {
        GeneratorRun run = Of(headerBody);
        Assert.True(run.ExitCode == 0, $"generator failed (exit {run.ExitCode}):\n{run.Stderr}");
        Assert.NotNull(run.Text);
        return run.Text;
    }

    /// <summary>A header that must be refused: exit 2, nothing written, and the message names all of <paramref name="needles"/>.</summary>
    public static void Rejected(string headerBody, params string[] needles)
    {
        GeneratorRun run = Of(headerBody);
        Assert.True(run.ExitCode == 2, $"expected exit 2 (cannot map), got {run.ExitCode}; stderr:\n{run.Stderr}\noutput:\n{run.Text}");
        Assert.True(run.Text is null, "nothing must be written on failure");
        foreach (string needle in needles)
            Assert.True(run.Stderr.Contains(needle, StringComparison.Ordinal), $"stderr does not mention '{needle}':\n{run.Stderr}");
    }

    /// <summary>Asserts that each of <paramref name="lines"/> is a line of <paramref name="text"/> (ignoring indentation).</summary>
    public static void HasLines(string text, params string[] lines)
    {
        var stripped = text.Split('\n').Select(l => l.Trim()).ToHashSet();
        foreach (string line in lines)
            Assert.True(stripped.Contains(line), $"missing line '{line}' in:\n{text}");
    }
}
