using System.Net;
using System.Text;

namespace CnnNative.Report;

/// <summary>One picture of the report: a heading, a caption and the PNG bytes.</summary>
public sealed record Figure(string Heading, string Caption, byte[] Png);

/// <summary>Writes the report as one self-contained HTML page: every PNG inline as a base64 data URI.</summary>
public static class HtmlReport
{
    /// <summary>The page's HTML for <paramref name="figures"/>, under <paramref name="title"/> and a summary paragraph.</summary>
    public static string Build(string title, string summary, IReadOnlyList<Figure> figures)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(WebUtility.HtmlEncode(title))
            .Append("</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
                + "figure{margin:1.5em 0}img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}"
                + "figcaption{color:#555;font-size:0.9em;margin-top:0.3em}</style>\n</head>\n<body>\n<h1>")
            .Append(WebUtility.HtmlEncode(title)).Append("</h1>\n<p>").Append(WebUtility.HtmlEncode(summary)).Append("</p>\n");
        foreach (Figure f in figures)
        {
            html.Append("<h2>").Append(WebUtility.HtmlEncode(f.Heading)).Append("</h2>\n<figure><img alt=\"")
                .Append(WebUtility.HtmlEncode(f.Heading)).Append("\" src=\"data:image/png;base64,")
                .Append(Convert.ToBase64String(f.Png)).Append("\">\n<figcaption>")
                .Append(WebUtility.HtmlEncode(f.Caption)).Append("</figcaption></figure>\n");
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }
}
