namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// Debian's Python with PyTorch 1.13 / torchvision 0.14, for what libtorch in-process cannot do: exporting ONNX
/// fixtures (torch.onnx.export, tests/oracle/export_onnx.py) and torchvision's PIL transforms as a reference. Every
/// test that needs it fails (never skips) with <see cref="InstallHint"/> when it is missing.
/// </summary>
public static class PythonTools
{
    /// <summary>The command that installs what the Python side needs (part of every failure message).</summary>
    public const string InstallHint = "sudo apt-get install python3-torch python3-torchvision python3-onnx (./build.sh deps does it)";

    /// <summary>CNN_ORACLE_PYTHON if set, else Debian's /usr/bin/python3 (not whatever python3 is first on PATH).</summary>
    public static string Interpreter =>
        Environment.GetEnvironmentVariable("CNN_ORACLE_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
}
