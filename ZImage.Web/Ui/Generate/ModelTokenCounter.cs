using ZImage.Engine.Text;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Ui.Generate;

/// <summary>
/// Counts with the model's own tokenizer.json when the model folder has one; until it has loaded (a few hundred
/// milliseconds, once, in the background) or when there is none, it falls back to the estimate and says so.
/// </summary>
public sealed class ModelTokenCounter : IPromptTokenCounter
{
    private readonly StudioPaths _paths;
    private readonly EstimatingPromptTokenCounter _estimate = new();
    private readonly Lock _gate = new();
    private Task<Qwen3Tokenizer?>? _loading;
    private string? _loadedFrom;

    public ModelTokenCounter(StudioPaths paths) => _paths = paths;

    public PromptTokenCount Count(string prompt)
    {
        var tokenizer = Tokenizer();
        return tokenizer is null ? _estimate.Count(prompt) : new PromptTokenCount(tokenizer.CountTokens(prompt ?? ""), Exact: true);
    }

    private Qwen3Tokenizer? Tokenizer()
    {
        var path = FindTokenizerJson(_paths.ModelDirectory());
        lock (_gate)
        {
            if (path != _loadedFrom)
            {
                _loadedFrom = path;
                _loading = path is null ? null : Task.Run(() => TryLoad(path));
            }
            return _loading is { IsCompletedSuccessfully: true } t ? t.Result : null;
        }
    }

    private static Qwen3Tokenizer? TryLoad(string path)
    {
        try
        {
            return Qwen3Tokenizer.Load(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or KeyNotFoundException)
        {
            // A broken tokenizer.json is reported by the Settings health check; the counter keeps estimating.
            return null;
        }
    }

    public static string? FindTokenizerJson(string? modelDirectory)
    {
        if (string.IsNullOrWhiteSpace(modelDirectory))
            return null;
        foreach (var candidate in new[] { "tokenizer.json", Path.Combine("tokenizer", "tokenizer.json") })
        {
            var path = Path.Combine(modelDirectory, candidate);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}
