using System.Text.Json;
using System.Text.RegularExpressions;

namespace ZImage.Web.Tests.Api;

/// <summary>
/// Checks an answer against the server's own /openapi/v1.json: the operation exists, the status is documented for it,
/// and a JSON body matches the documented schema (types, required properties, items, ranges, references; the subset of
/// JSON Schema the document uses). Returns why not, or null.
/// </summary>
public sealed class OpenApiConformance(JsonElement document)
{
    private readonly List<(Regex Pattern, JsonElement Methods)> _paths = [.. document.GetProperty("paths").EnumerateObject()
        .Select(p => (new Regex("^" + Regex.Replace(Regex.Escape(p.Name), @"\\\{[^}]+}", "[^/]+") + "$"), p.Value))];

    public static async Task<OpenApiConformance> LoadAsync(HttpClient client) =>
        new(JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json")).RootElement.Clone());

    public async Task<string?> CheckAsync(HttpResponseMessage response)
    {
        var request = response.RequestMessage!;
        var path = request.RequestUri!.AbsolutePath;
        var match = _paths.FirstOrDefault(p => p.Pattern.IsMatch(path));
        var status = ((int)response.StatusCode).ToString();
        if (match.Pattern is null || !match.Methods.TryGetProperty(request.Method.Method.ToLowerInvariant(), out var operation))
            return (int)response.StatusCode is 404 or 405 ? null : $"{request.Method} {path}: no such operation in the document, but answered {status}";
        if (!operation.GetProperty("responses").TryGetProperty(status, out var documented))
            return $"{request.Method} {path}: answered {status}, which the document does not list";
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || !mediaType.EndsWith("json", StringComparison.Ordinal))
            return null;
        if (!documented.TryGetProperty("content", out var content) || !content.TryGetProperty(mediaType, out var media) || !media.TryGetProperty("schema", out var schema))
            return content.ValueKind == JsonValueKind.Object && content.EnumerateObject().Any()
                ? $"{request.Method} {path} {status}: answered {mediaType}, documented {string.Join(", ", content.EnumerateObject().Select(c => c.Name))}"
                : null;
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return Validate(body, schema, "$") is { } problem ? $"{request.Method} {path} {status}: {problem}" : null;
    }

    private string? Validate(JsonElement value, JsonElement schema, string at)
    {
        if (schema.TryGetProperty("$ref", out var reference))
            schema = Resolve(reference.GetString()!);
        foreach (var combiner in new[] { "oneOf", "anyOf" })
        {
            if (schema.TryGetProperty(combiner, out var options))
                return options.EnumerateArray().Any(o => Validate(value, o, at) is null) ? null : $"{at} matches none of {combiner}";
        }
        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => IsType(value, t)))
                return $"{at} is {value.ValueKind}, the document says {string.Join("|", types)}";
        }
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (schema.TryGetProperty("minimum", out var min) && value.GetDouble() < Number(min))
                return $"{at} = {value} is below the documented minimum {min}";
            if (schema.TryGetProperty("maximum", out var max) && value.GetDouble() > Number(max))
                return $"{at} = {value} is above the documented maximum {max}";
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                {
                    if (!value.TryGetProperty(name, out _))
                        return $"{at}.{name} is required by the document but missing";
                }
            }
            if (schema.TryGetProperty("properties", out var properties))
            {
                foreach (var property in value.EnumerateObject())
                {
                    if (properties.TryGetProperty(property.Name, out var propertySchema) && Validate(property.Value, propertySchema, $"{at}.{property.Name}") is { } problem)
                        return problem;
                }
            }
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (Validate(item, items, $"{at}[{i++}]") is { } problem)
                    return problem;
            }
        }
        return null;
    }

    private JsonElement Resolve(string reference)
    {
        var node = document;
        foreach (var part in reference.TrimStart('#', '/').Split('/'))
            node = node.GetProperty(part);
        return node;
    }

    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : e.GetDouble();

    private static bool IsType(JsonElement value, string type) => type switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => true,
    };
}
