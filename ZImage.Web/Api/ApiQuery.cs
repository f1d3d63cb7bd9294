using System.Globalization;

namespace ZImage.Web.Api;

/// <summary>
/// Query-string values read by hand: parameter binding answers a bad number with an empty 400, while these
/// produce a problem that names the parameter and what it should look like.
/// </summary>
public sealed class ApiQuery(HttpRequest request)
{
    public IResult? Error { get; private set; }

    public string? String(string name)
    {
        var v = request.Query[name].ToString();
        return v.Length == 0 ? null : v;
    }

    public int? Int(string name, int min, int max)
    {
        if (String(name) is not { } raw)
            return null;
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            Fail(name, $"{name} must be a whole number between {min} and {max} (got '{raw}').");
            return null;
        }
        return v;
    }

    public bool? Bool(string name)
    {
        if (String(name) is not { } raw)
            return null;
        if (bool.TryParse(raw, out var v))
            return v;
        if (raw is "1" or "0")
            return raw == "1";
        Fail(name, $"{name} must be true or false (got '{raw}').");
        return null;
    }

    public DateTimeOffset? Date(string name)
    {
        if (String(name) is not { } raw)
            return null;
        if (DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var v))
            return v;
        Fail(name, $"{name} must be an ISO 8601 date or date-time such as 2026-01-31 or 2026-01-31T08:00:00Z (got '{raw}').");
        return null;
    }

    public void Fail(string name, string message) => Error ??= ApiProblems.Invalid(name, message);
}
