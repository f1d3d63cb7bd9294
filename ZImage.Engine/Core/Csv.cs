using System.Text;

namespace ZImage.Engine.Core;

/// <summary>CSV as RFC 4180 writes and reads it: the usage export, the batch manifest and batch prompt lists.</summary>
public static class Csv
{
    /// <summary>A field, quoted when needed; a leading = + - @ gets a ' so a spreadsheet never runs it as a formula.</summary>
    public static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@')
            value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }

    public static string Line(params string[] fields) => string.Join(',', fields.Select(Field));

    /// <summary>
    /// Records of a CSV text with the 1-based line each starts on (quoted fields may span lines). Null with the line
    /// whose quote is left open.
    /// </summary>
    public static (List<(int Line, List<string> Fields)>? Records, CsvError? Error) Parse(string text)
    {
        var records = new List<(int, List<string>)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, recordLine = 1;
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                    quoted = false;
                else
                {
                    if (c == '\n')
                        line++;
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0:
                    quoted = true;
                    any = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    any = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    if (any || fields.Count > 1 || fields[0].Length > 0)
                        records.Add((recordLine, fields));
                    fields = [];
                    field.Clear();
                    any = false;
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    any = true;
                    break;
            }
        }
        if (quoted)
            return (null, new CsvError(recordLine, "a quoted field is not closed."));
        fields.Add(field.ToString());
        if (any || fields.Count > 1 || fields[0].Length > 0)
            records.Add((recordLine, fields));
        return (records, null);
    }
}

/// <summary>Why a CSV text could not be read, and the line where the trouble starts.</summary>
public sealed record CsvError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}
