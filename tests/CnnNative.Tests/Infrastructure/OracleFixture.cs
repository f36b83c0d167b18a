namespace CnnNative.Tests.Infrastructure;

/// <summary>
/// The torch oracle (<see cref="OracleClient"/> over tests/oracle/torch_oracle.py, /usr/bin/python3 with
/// python3-torch), started once per test run for the "Oracle" collection. If python or torch is missing,
/// every request throws with the install command, so every oracle test fails (never skips).
/// </summary>
public sealed class OracleFixture : IDisposable
{
    /// <summary>The command that installs the oracle's dependencies (part of every failure message).</summary>
    public const string InstallHint = "sudo apt-get install python3-torch python3-torchvision python3-onnx";

    /// <summary>The interpreter used unless CNN_ORACLE_PYTHON says otherwise.</summary>
    public const string DefaultPython = OracleClient.DefaultPython;

    private readonly OracleClient _client = new(TestPaths.OracleScript, InstallHint);

    /// <summary>torch.__version__ reported by the oracle ("" if it did not start).</summary>
    public string TorchVersion => _client.TorchVersion;

    /// <summary>How long starting python and importing torch took.</summary>
    public TimeSpan StartupTime => _client.StartupTime;

    /// <summary>Number of requests served.</summary>
    public int Requests => _client.Requests;

    /// <inheritdoc cref="OracleClient.Run"/>
    public OracleReply Run(string op, object? args = null, params OracleTensor[] tensors) => _client.Run(op, args, tensors);

    /// <summary>Kills the oracle process and writes the error summary.</summary>
    public void Dispose()
    {
        _client.Dispose();
        OracleErrors.WriteSummary(TorchVersion);
    }
}

/// <summary>Every test that talks to the torch oracle belongs to this collection (one oracle process).</summary>
[CollectionDefinition(Name)]
public sealed class OracleCollection : ICollectionFixture<OracleFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Oracle";
}
