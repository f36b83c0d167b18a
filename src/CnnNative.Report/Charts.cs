using ScottPlot;

namespace CnnNative.Report;

/// <summary>The ScottPlot charts of the report: per-epoch curves and the confusion heat map.</summary>
public static class Charts
{
    /// <summary>Size of the curve charts in pixels.</summary>
    public const int CurveWidth = 640, CurveHeight = 400;

    /// <summary>
    /// Train and validation curves per epoch of one metric (<paramref name="train"/>, <paramref name="validation"/>
    /// select it); epochs of a <c>frozen</c> stage are shaded and each stage change gets a labelled dashed line.
    /// </summary>
    public static byte[] EpochCurves(IReadOnlyList<EpochMetrics> rows, string title, string yLabel,
        Func<EpochMetrics, double> train, Func<EpochMetrics, double> validation, (double Min, double Max)? yRange = null)
    {
        var plot = new Plot();
        double[] epochs = rows.Select(r => (double)r.Epoch).ToArray();
        AddStages(plot, rows);
        var t = plot.Add.Scatter(epochs, rows.Select(train).ToArray());
        t.LegendText = "train";
        t.LineWidth = 2;
        t.MarkerSize = 6;
        var v = plot.Add.Scatter(epochs, rows.Select(validation).ToArray());
        v.LegendText = "validation";
        v.LineWidth = 2;
        v.MarkerSize = 6;
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (yRange is (double min, double max))
            plot.Axes.SetLimitsY(min, max);   // e.g. accuracy in [0, 1]: auto-limits of a flat curve would span -0.6..1.6
        return plot.GetImageBytes(CurveWidth, CurveHeight, ImageFormat.Png);
    }

    private static void AddStages(Plot plot, IReadOnlyList<EpochMetrics> rows)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            // A frozen epoch spans half an epoch either side of its point.
            if (rows[i].Stage == "frozen")
            {
                var span = plot.Add.HorizontalSpan(rows[i].Epoch - 0.5, rows[i].Epoch + 0.5);
                span.FillStyle.Color = Colors.SkyBlue.WithAlpha(0.25);
                span.LineStyle.Width = 0;
                if (i == 0 || rows[i - 1].Stage != "frozen")
                    span.LegendText = "backbone frozen";
            }

            if (i > 0 && rows[i].Stage != rows[i - 1].Stage)
            {
                var line = plot.Add.VerticalLine(rows[i].Epoch - 0.5);
                line.LinePattern = LinePattern.Dashed;
                line.Color = Colors.Gray;
                // In the legend, not as an axis label: a label on the top axis collides with the title.
                line.LegendText = $"{rows[i - 1].Stage} -> {rows[i].Stage}";
            }
        }
    }

    /// <summary>
    /// The confusion matrix as a heat map (true class down, predicted class across, row 0 at the top) with the
    /// class names on the axes and each cell's count written in it.
    /// </summary>
    public static byte[] ConfusionHeatmap(ConfusionData confusion)
    {
        int k = confusion.Classes.Count;
        var values = new double[k, k];
        int max = 1;
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                values[r, c] = confusion.Counts[r, c];
                max = Math.Max(max, confusion.Counts[r, c]);
            }

        var plot = new Plot();
        var heat = plot.Add.Heatmap(values);
        heat.Colormap = new ScottPlot.Colormaps.Viridis();
        heat.Extent = new CoordinateRect(-0.5, k - 0.5, k - 0.5, -0.5);  // cell (r, c) centred on x = c, y = r; row 0 on top
        plot.Add.ColorBar(heat);
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                var text = plot.Add.Text(confusion.Counts[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, r);
                text.Alignment = Alignment.MiddleCenter;
                // Dark text on the bright (high) end of viridis, light text on the dark end.
                text.LabelFontColor = confusion.Counts[r, c] > 0.6 * max ? Colors.Black : Colors.White;
                text.LabelFontSize = k <= 10 ? 14 : 9;
            }

        double[] positions = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        string[] names = confusion.Classes.ToArray();
        plot.Axes.Bottom.SetTicks(positions, names);
        plot.Axes.Left.SetTicks(positions, names);
        plot.Axes.Bottom.TickLabelStyle.Rotation = k > 6 ? 45 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = k > 6 ? Alignment.MiddleLeft : Alignment.UpperCenter;
        plot.Axes.SetLimits(-0.5, k - 0.5, k - 0.5, -0.5);
        plot.XLabel("predicted class");
        plot.YLabel("true class");
        plot.Title("Confusion matrix (validation)");
        int side = Math.Clamp(120 + 48 * k, 420, 1000);
        return plot.GetImageBytes(side + 120, side, ImageFormat.Png);
    }
}
