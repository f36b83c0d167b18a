using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

// Shared by the test suite and the cnn CLI (`cnn verify`): both link this file, so the one protocol
// client talks to tests/oracle/torch_oracle.py.
namespace CnnNative.Oracle;

/// <summary>The oracle's answer to one request.</summary>
public sealed class OracleReply
{
    internal OracleReply(JsonObject header, Dictionary<string, OracleTensor> tensors)
    {
        Header = header;
        Tensors = tensors;
    }

    /// <summary>The reply's JSON header (ok, tensors and any extra fields of the op).</summary>
    public JsonObject Header { get; }

    /// <summary>The reply's tensors by name, in the order the oracle sent them.</summary>
    public IReadOnlyDictionary<string, OracleTensor> Tensors { get; }

    /// <summary>A tensor of the reply; fails the test if the oracle did not send it.</summary>
    public OracleTensor this[string name] =>
        Tensors.TryGetValue(name, out OracleTensor? t)
            ? t
            : throw new InvalidOperationException($"the oracle reply has no tensor '{name}' (it has: {string.Join(", ", Tensors.Keys)})");
}

/// <summary>
/// A client of the torch oracle server (tests/oracle/torch_oracle.py under /usr/bin/python3 with
/// python3-torch), which it starts as a child process. Binary protocol over the process pipes:
/// 4-byte little-endian header length, UTF-8 JSON header, raw little-endian float32 tensor bytes.
/// Thread-safe: one request at a time. If python or torch is missing, every request throws with the
/// install command.
/// </summary>
public sealed class OracleClient : IDisposable
{
    /// <summary>The interpreter used unless CNN_ORACLE_PYTHON says otherwise.</summary>
    public const string DefaultPython = "/usr/bin/python3";

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(120);

    private readonly object _gate = new();
    private readonly Queue<string> _stderrTail = new();
    private readonly string _python;
    private readonly string _script;
    private readonly string _installHint;
    private Process? _process;
    private Stream? _stdin;
    private Stream? _stdout;
    private string? _startError;
    private bool _everStarted;
    private bool _disposed;

    /// <summary>Starts the oracle (failures are kept and reported by every request).</summary>
    /// <param name="script">torch_oracle.py.</param>
    /// <param name="installHint">The command that installs what the oracle needs (part of every failure message).</param>
    /// <param name="python">The interpreter; null for CNN_ORACLE_PYTHON, else <see cref="DefaultPython"/>.</param>
    public OracleClient(string script, string installHint, string? python = null)
    {
        _python = python ?? (Environment.GetEnvironmentVariable("CNN_ORACLE_PYTHON") is { Length: > 0 } p ? p : DefaultPython);
        _script = script;
        _installHint = installHint;
        var sw = Stopwatch.StartNew();
        lock (_gate)
        {
            TryStart();
        }

        StartupTime = sw.Elapsed;
    }

    /// <summary>torch.__version__ reported by the oracle ("" if it did not start).</summary>
    public string TorchVersion { get; private set; } = string.Empty;

    /// <summary>How long starting python and importing torch took.</summary>
    public TimeSpan StartupTime { get; }

    /// <summary>Number of requests served.</summary>
    public int Requests { get; private set; }

    /// <summary>
    /// Sends one request and returns the reply; throws <see cref="InvalidOperationException"/> if the
    /// oracle is unavailable or answers with an error.
    /// </summary>
    public OracleReply Run(string op, object? args = null, params OracleTensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(op);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_process == null || _process.HasExited)
            {
                // It died after a good start (crash, or killed on a timeout): restart it once per
                // failure. If it never started (no python, no torch), do not retry on every test.
                if (_process != null && _everStarted)
                {
                    _startError = $"the oracle process exited (code {_process.ExitCode}). stderr:\n{StderrTail()}";
                    _process.Dispose();
                    _process = null;
                }

                if (!_everStarted || !TryStart())
                {
                    throw new InvalidOperationException(
                        $"The torch oracle is unavailable: {_startError}\nInstall PyTorch for {_python}: {_installHint}");
                }
            }

            try
            {
                Requests++;
                return Exchange(op, args, tensors);
            }
            catch (Exception e) when (e is IOException or EndOfStreamException or TimeoutException or ObjectDisposedException)
            {
                Kill();
                throw new InvalidOperationException(
                    $"The torch oracle failed during '{op}': {e.GetType().Name}: {e.Message}\nstderr:\n{StderrTail()}", e);
            }
        }
    }

    /// <summary>Kills the oracle process.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                _stdin?.Dispose(); // EOF: the server returns from its loop.
                if (_process != null && !_process.WaitForExit(2000))
                {
                    Kill();
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                Kill();
            }

            _process?.Dispose();
            _process = null;
        }
    }

    private bool TryStart()
    {
        if (!File.Exists(_python))
        {
            _startError = $"the python interpreter {_python} does not exist";
            return false;
        }

        if (!File.Exists(_script))
        {
            _startError = $"the oracle script {_script} does not exist";
            return false;
        }

        try
        {
            var psi = new ProcessStartInfo(_python)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                CreateNoWindow = true,
            };
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(_script);
            psi.Environment["OMP_NUM_THREADS"] = "1";
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            var process = new Process { StartInfo = psi };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data == null)
                {
                    return;
                }

                lock (_stderrTail)
                {
                    _stderrTail.Enqueue(e.Data);
                    while (_stderrTail.Count > 60)
                    {
                        _stderrTail.Dequeue();
                    }
                }
            };
            process.Start();
            process.BeginErrorReadLine();
            _process = process;
            _stdin = process.StandardInput.BaseStream;
            _stdout = process.StandardOutput.BaseStream;

            OracleReply ping = Exchange("ping", null, []);
            TorchVersion = ping.Header["version"]?.GetValue<string>() ?? "?";
            _startError = null;
            _everStarted = true;
            return true;
        }
        catch (Exception e)
        {
            _startError = $"{_python} {_script} did not answer a ping: {e.GetType().Name}: {e.Message}\nstderr:\n{StderrTail()}";
            Kill();
            return false;
        }
    }

    private OracleReply Exchange(string op, object? args, OracleTensor[] tensors)
    {
        var header = new JsonObject
        {
            ["op"] = op,
            ["args"] = args == null ? new JsonObject() : JsonSerializer.SerializeToNode(args),
            ["tensors"] = new JsonArray(tensors.Select(t =>
            {
                long n = t.Shape.Aggregate(1L, (a, d) => a * d);
                if (n != t.Data.Length)
                {
                    throw new ArgumentException($"oracle tensor '{t.Name}': shape {t.ShapeText} has {n} elements, data has {t.Data.Length}");
                }

                return (JsonNode)new JsonObject { ["name"] = t.Name, ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()) };
            }).ToArray()),
        };

        Stream stdin = _stdin!;
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)headerBytes.Length);
        stdin.Write(prefix);
        stdin.Write(headerBytes);
        foreach (OracleTensor t in tensors)
        {
            WriteFloats(stdin, t.Data);
        }

        stdin.Flush();

        // The reply, with a deadline (a hung oracle must not hang the whole run).
        Task<OracleReply> read = Task.Run(ReadReply);
        if (!read.Wait(RequestTimeout))
        {
            Kill();
            throw new TimeoutException($"no reply to '{op}' within {RequestTimeout.TotalSeconds} s");
        }

        OracleReply reply = read.GetAwaiter().GetResult();
        if (reply.Header["ok"]?.GetValue<bool>() != true)
        {
            string error = reply.Header["error"]?.GetValue<string>() ?? "(no message)";
            throw new InvalidOperationException($"The torch oracle rejected '{op}': {error}");
        }

        return reply;
    }

    private OracleReply ReadReply()
    {
        Stream stdout = _stdout!;
        Span<byte> prefix = stackalloc byte[4];
        stdout.ReadExactly(prefix);
        int length = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(prefix));
        byte[] headerBytes = new byte[length];
        stdout.ReadExactly(headerBytes);
        JsonObject header = JsonNode.Parse(headerBytes)?.AsObject()
            ?? throw new InvalidDataException("the oracle sent an empty header");
        var tensors = new Dictionary<string, OracleTensor>();
        if (header["tensors"] is JsonArray entries)
        {
            foreach (JsonNode? entry in entries)
            {
                string name = entry!["name"]!.GetValue<string>();
                int[] shape = entry["shape"]!.AsArray().Select(d => d!.GetValue<int>()).ToArray();
                long n = shape.Aggregate(1L, (a, d) => a * d);
                float[] data = new float[checked((int)n)];
                stdout.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
                if (!BitConverter.IsLittleEndian)
                {
                    var ints = MemoryMarshal.Cast<float, int>(data.AsSpan());
                    BinaryPrimitives.ReverseEndianness(ints, ints);
                }

                tensors[name] = new OracleTensor(name, data, shape);
            }
        }

        return new OracleReply(header, tensors);
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }

        int[] ints = MemoryMarshal.Cast<float, int>(data.AsSpan()).ToArray();
        BinaryPrimitives.ReverseEndianness(ints, ints);
        stream.Write(MemoryMarshal.AsBytes(ints.AsSpan()));
    }

    private string StderrTail()
    {
        lock (_stderrTail)
        {
            return _stderrTail.Count == 0 ? "(empty)" : string.Join("\n", _stderrTail);
        }
    }

    private void Kill()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}
