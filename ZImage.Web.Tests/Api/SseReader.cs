using System.Text;
using System.Text.Json;

namespace ZImage.Web.Tests.Api;

/// <summary>Parses text/event-stream as a browser's EventSource does: fields until a blank line, comments skipped.</summary>
public sealed class SseReader(Stream stream)
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    public sealed record Event(long Id, string Name, JsonElement Data)
    {
        public override string ToString() => $"{Id} {Name} {Data}";
    }

    public async Task<Event> NextAsync()
    {
        using var cts = new CancellationTokenSource(ApiTestExtensions.Deadline);
        string? name = null;
        long id = 0;
        var data = new StringBuilder();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException("the event stream ended before a final event");
            if (line.Length == 0)
            {
                if (name is not null)
                    return new Event(id, name, JsonDocument.Parse(data.ToString()).RootElement.Clone());
                continue;
            }
            if (line.StartsWith(':'))
                continue;
            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "event": name = value; break;
                case "id": id = long.Parse(value); break;
                case "data": data.Append(data.Length > 0 ? "\n" : "").Append(value); break;
            }
        }
    }
}
