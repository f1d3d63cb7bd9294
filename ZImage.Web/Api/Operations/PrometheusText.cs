using System.Globalization;
using System.Text;

namespace ZImage.Web.Api.Operations;

/// <summary>
/// Writes the Prometheus text exposition format 0.0.4 by hand: HELP and TYPE once per family, label values
/// escaped (backslash, quote, newline), numbers in invariant culture with +Inf/-Inf/NaN spelled as Prometheus wants.
/// </summary>
public sealed class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
    private readonly StringBuilder _sb = new();

    public PrometheusText Family(string name, string type, string help)
    {
        _sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        return this;
    }

    public PrometheusText Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        _sb.Append(name);
        if (labels.Length > 0)
        {
            _sb.Append('{');
            for (var i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                    _sb.Append(',');
                _sb.Append(labels[i].Name).Append("=\"").Append(EscapeLabel(labels[i].Value)).Append('"');
            }
            _sb.Append('}');
        }
        _sb.Append(' ').Append(Number(value)).Append('\n');
        return this;
    }

    public PrometheusText Histogram(string name, string help, HistogramSnapshot h)
    {
        Family(name, "histogram", help);
        long cumulative = 0;
        for (var i = 0; i < h.UpperBounds.Count; i++)
        {
            cumulative += h.Counts[i];
            Sample(name + "_bucket", cumulative, ("le", Number(h.UpperBounds[i])));
        }
        Sample(name + "_bucket", h.Count, ("le", "+Inf"));
        Sample(name + "_sum", h.Sum);
        Sample(name + "_count", h.Count);
        return this;
    }

    public override string ToString() => _sb.ToString();

    internal static string Number(double v) => v switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => v.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string EscapeLabel(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string EscapeHelp(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n");
}

/// <summary>Counts per bucket (not cumulative; the writer accumulates), plus everything above the last bound.</summary>
public sealed record HistogramSnapshot(IReadOnlyList<double> UpperBounds, IReadOnlyList<long> Counts, long Count, double Sum);

/// <summary>A fixed-bucket histogram safe for concurrent observers.</summary>
public sealed class Histogram(params double[] upperBounds)
{
    private readonly double[] _bounds = upperBounds;
    private readonly long[] _counts = new long[upperBounds.Length];
    private long _count;
    private double _sum;
    private readonly Lock _gate = new();

    public void Observe(double value)
    {
        lock (_gate)
        {
            var i = Array.FindIndex(_bounds, b => value <= b);
            if (i >= 0)
                _counts[i]++;
            _count++;
            _sum += value;
        }
    }

    public HistogramSnapshot Snapshot()
    {
        lock (_gate)
            return new(_bounds, (long[])_counts.Clone(), _count, _sum);
    }
}
