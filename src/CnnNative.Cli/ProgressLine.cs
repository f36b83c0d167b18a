using System.Diagnostics;

namespace CnnNative.Cli;

/// <summary>
/// A status line rewritten in place with <c>\r</c> (at most a few times per second) when the output is a
/// terminal; nothing at all otherwise (CI logs get one line per epoch from the caller instead).
/// </summary>
internal sealed class ProgressLine(TextWriter output, bool live)
{
    private readonly Stopwatch _sinceLast = Stopwatch.StartNew();
    private int _shownLength;

    public bool Live { get; } = live;

    /// <summary>True when stdout is a terminal and CI / NO_PROGRESS are not set.</summary>
    public static bool TerminalAttached =>
        !Console.IsOutputRedirected &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CNN_NO_PROGRESS"));

    /// <summary>Shows <paramref name="text"/> unless the last update was under 200 ms ago (and <paramref name="force"/> is false).</summary>
    public void Update(Func<string> text, bool force = false)
    {
        if (!Live || (!force && _shownLength > 0 && _sinceLast.ElapsedMilliseconds < 200))
        {
            return;
        }
        _sinceLast.Restart();
        string line = text();
        int width = ConsoleWidth();
        if (line.Length > width - 1)
        {
            line = line[..(width - 1)];
        }
        output.Write('\r' + line.PadRight(_shownLength));
        output.Flush();
        _shownLength = line.Length;
    }

    /// <summary>Erases the line (so that a normal line can be written where it was).</summary>
    public void Clear()
    {
        if (!Live || _shownLength == 0)
        {
            return;
        }
        output.Write('\r' + new string(' ', _shownLength) + '\r');
        output.Flush();
        _shownLength = 0;
    }

    private static int ConsoleWidth()
    {
        try
        {
            int width = Console.WindowWidth;
            return width > 20 ? width : 120;
        }
        catch (IOException)
        {
            return 120;
        }
    }

    public static string FormatDuration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
        {
            return "?";
        }
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes}:{t.Seconds:D2}";
    }
}
