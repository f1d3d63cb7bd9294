using System.Globalization;
using ZImage.Engine.Onnx;

namespace ZImage.Web.Operator;

/// <summary>
/// <c>--name value</c> pairs and <c>--flag</c>s after a command word. Unknown or malformed options stop the command
/// with a sentence naming the option, like every other entry point.
/// </summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CliArguments(IReadOnlyList<string> args, IReadOnlySet<string> flags)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new CliException($"unexpected argument '{arg}': options look like --name value");
            var name = arg[2..];
            string value;
            if (flags.Contains(name))
                value = "true";
            else if (i + 1 < args.Count)
                value = args[++i];
            else
                throw new CliException($"--{name} needs a value");
            if (!_values.TryGetValue(name, out var list))
                _values[name] = list = [];
            list.Add(value);
        }
    }

    public string? String(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var list) ? list[^1] : null;
    }

    public IReadOnlyList<string> All(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var list) ? list : [];
    }

    public string Required(string name) => String(name) ?? throw new CliException($"--{name} is required");

    public bool Flag(string name) => String(name) == "true";

    public int Int(string name, int fallback) => String(name) is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be a whole number (got '{s}')")
        : fallback;

    public long Long(string name, long fallback) => String(name) is { } s
        ? long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be a whole number (got '{s}')")
        : fallback;

    public float Float(string name, float fallback) => String(name) is { } s
        ? float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be a number (got '{s}')")
        : fallback;

    public IReadOnlyList<int> IntList(string name, IReadOnlyList<int> fallback) => String(name) is { } s
        ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be whole numbers separated by commas (got '{s}')"))
            .ToArray()
        : fallback;

    /// <summary>An execution provider word: cpu (also when absent), cuda, tensorrt or trt.</summary>
    public static ExecutionProvider ParseProvider(string? value, string option = "provider") => value?.ToLowerInvariant() switch
    {
        null or "cpu" => ExecutionProvider.Cpu,
        "cuda" => ExecutionProvider.Cuda,
        "tensorrt" or "trt" => ExecutionProvider.TensorRT,
        _ => throw new CliException($"--{option} must be cpu, cuda or tensorrt (got '{value}')"),
    };

    /// <summary>Call after reading every option: a misspelt option is an error, not silently ignored.</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new CliException($"unknown option{(unknown.Count > 1 ? "s" : "")}: {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

internal sealed class CliException(string message) : Exception(message);
