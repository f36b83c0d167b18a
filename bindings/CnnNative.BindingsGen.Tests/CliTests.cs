namespace CnnNative.BindingsGen.Tests;

/// <summary>The command line: the drift check of the committed file, --check's exit codes and diff, bad arguments.</summary>
public sealed class CliTests
{
    private static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = Cli.Run(args, stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Committed_bindings_match_a_fresh_generation_of_cnn_h()
    {
        (int rc, string stdout, string stderr) = Run("--check");
        Assert.True(rc == 0, $"bindings/NativeMethods.g.cs differs from a fresh generation of native/include/cnn/cnn.h " +
                             $"(exit {rc}: 1 drift, 2 unmappable header); run ./build.sh bindings\n{stdout}{stderr}");
    }

    [Fact]
    public void Check_reports_drift_with_a_diff_and_writes_nothing()
    {
        string dir = Directory.CreateTempSubdirectory("cnn-bindgen-check-").FullName;
        try
        {
            // The committed file with one declaration changed, as if the header had changed under it.
            string committed = File.ReadAllText(Cli.DefaultOutput);
            const string line = "    public static partial byte* cnn_get_last_error();";
            Assert.Contains(line + "\n", committed);
            string stale = committed.Replace(line + "\n", "    public static partial byte* cnn_get_last_error_old();\n");
            string output = Path.Combine(dir, "Stale.g.cs");
            File.WriteAllText(output, stale);

            (int rc, string stdout, _) = Run("--check", "--output", output);

            Assert.Equal(1, rc);
            Assert.Equal(stale, File.ReadAllText(output)); // --check never writes
            Assert.Contains("--- a/Stale.g.cs (committed)\n+++ b/Stale.g.cs (generated)\n", stdout);
            Assert.Contains("\n-    public static partial byte* cnn_get_last_error_old();\n+" + line + "\n", stdout);
            Assert.Matches(@"\n@@ -\d+,7 \+\d+,7 @@\n", stdout); // one changed line with 3 lines of context each side
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Check_of_a_missing_file_is_drift()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"cnn-bindgen-missing-{Guid.NewGuid():N}.g.cs");
        (int rc, _, string stderr) = Run("--check", "--output", missing);
        Assert.Equal(1, rc);
        Assert.Contains("does not exist", stderr);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--output")]
    public void Bad_command_line_exits_2_with_usage(string arg)
    {
        (int rc, _, string stderr) = Run(arg);
        Assert.Equal(2, rc);
        Assert.Contains("usage:", stderr);
        Assert.Contains(arg, stderr);
    }

    [Fact]
    public void Missing_header_exits_2()
    {
        (int rc, _, string stderr) = Run("--header", "/nonexistent/cnn-missing.h", "--check");
        Assert.Equal(2, rc);
        Assert.Contains("header not found: /nonexistent/cnn-missing.h", stderr);
    }
}
