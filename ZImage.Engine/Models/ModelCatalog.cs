using System.Text.Json;
using Microsoft.Extensions.Options;
using ZImage.Engine.Pipeline;
using ZImage.Engine.Text;

namespace ZImage.Engine.Models;

/// <summary>
/// The configured model folder, resolved once (relative paths against the content root, <see cref="ContentPaths"/>)
/// and read once: its health, part sizes, tokenizer and self-test flag. Everyone who asks about the model (the
/// Settings check, the Generate page, the token counter, the VRAM footprint, the pipeline's status) reads this
/// instead of walking the folder again. It re-reads when the options change and when <see cref="Refresh"/> is called
/// (after an install, or when loading found the disk different from what was read).
/// </summary>
/// <summary>
/// A model folder's condition on disk, read by the catalog: none set, not there, something missing or broken, or
/// usable. Not the loaded model's state (<see cref="ModelState"/>: loading, ready, unloaded after idle, failed).
/// </summary>
public enum ModelFolderState
{
    NotSet,
    Missing,
    Incomplete,
    Ready,
}

public interface IModelCatalog
{
    ModelEntry Current { get; }

    /// <summary>Reads any folder (not cached): what Settings shows for a folder typed but not yet saved.</summary>
    ModelEntry Survey(string? directory);

    /// <summary>The absolute path a setting names; null for none.</summary>
    string? Resolve(string? path);

    void Refresh();

    /// <summary>Raised after the configured folder changed or was re-read.</summary>
    event Action? Changed;
}

public sealed class ModelCatalog : IModelCatalog, IDisposable
{
    private readonly IOptionsMonitor<EngineOptions> _options;
    private readonly string _contentRoot;
    private readonly Lock _gate = new();
    private readonly IDisposable? _subscription;
    private ModelEntry? _current;

    public ModelCatalog(IOptionsMonitor<EngineOptions> options, string? contentRoot = null)
    {
        _options = options;
        _contentRoot = contentRoot ?? Directory.GetCurrentDirectory();
        _subscription = options.OnChange(_ => Refresh());
    }

    public event Action? Changed;

    public ModelEntry Current
    {
        get
        {
            var configured = _options.CurrentValue.ModelDirectory;
            lock (_gate)
            {
                // Keyed by the configured text too, so a monitor that never raises OnChange still gets a fresh read.
                if (_current is null || _current.ConfiguredAs != configured)
                    _current = ModelEntry.Read(configured, Resolve(configured));
                return _current;
            }
        }
    }

    public ModelEntry Survey(string? directory) => ModelEntry.Read(directory, Resolve(directory));

    public string? Resolve(string? path) => string.IsNullOrWhiteSpace(path) ? null : ContentPaths.Resolve(path, _contentRoot);

    public void Refresh()
    {
        lock (_gate)
            _current = null;
        Changed?.Invoke();
    }

    public void Dispose() => _subscription?.Dispose();
}

/// <summary>What is wrong with a model folder, as a kind and the file or folder concerned (relative where it can be).</summary>
public enum ModelProblemKind
{
    FolderMissing,
    NoManifest,
    BadManifest,
    FileMissing,
    EmptyFile,
    /// <summary>Every file is there but the engine's own check failed (manifest numbers, recorded sizes).</summary>
    Engine,
}

public sealed record ModelProblem(ModelProblemKind Kind, string Subject);

public sealed record ModelFileSize(string Name, long Bytes);

/// <summary>One reading of a model folder. Immutable; the catalog replaces it when something changes.</summary>
public sealed class ModelEntry
{
    public static readonly IReadOnlyList<string> RequiredFiles =
    [
        "tokenizer/tokenizer.json",
        "text_encoder/model.onnx", "text_encoder/model.onnx.data",
        "transformer/model.onnx", "transformer/model.onnx.data",
        "vae_decoder/model.onnx", "vae_decoder/model.onnx.data",
    ];

    private readonly Lazy<Task<Qwen3Tokenizer?>> _tokenizer;

    private ModelEntry(string? configuredAs, string? directory, IReadOnlyList<ModelFileSize> files, IReadOnlyList<ModelProblem> problems,
        ModelInspection? inspection, bool isSelfTest)
    {
        ConfiguredAs = configuredAs;
        Directory = directory;
        Files = files;
        Problems = problems;
        Inspection = inspection;
        IsSelfTest = isSelfTest;
        TokenizerPath = inspection?.Manifest is { } m ? Path.Combine(directory!, m.Tokenizer.File) : FindTokenizerJson(directory);
        var te = 0L; var dit = 0L; var vae = 0L;
        foreach (var file in files)
        {
            var rel = file.Name.ToLowerInvariant();
            if (rel.Contains("text_encoder") || rel.Contains("text-encoder"))
                te += file.Bytes;
            else if (rel.Contains("transformer") || rel.Contains("dit"))
                dit += file.Bytes;
            else if (rel.Contains("vae"))
                vae += file.Bytes;
        }
        (TextEncoderBytes, TransformerBytes, VaeBytes) = (te, dit, vae);
        _tokenizer = new(() => TokenizerPath is null ? Task.FromResult<Qwen3Tokenizer?>(null) : Task.Run(() => TryLoadTokenizer(TokenizerPath)));
    }

    /// <summary>The setting as written (null: none).</summary>
    public string? ConfiguredAs { get; }

    /// <summary>The absolute folder; null when none is configured.</summary>
    public string? Directory { get; }

    public bool IsSet => Directory is not null;
    public bool Exists => Directory is not null && System.IO.Directory.Exists(Directory);
    public bool IsUsable => IsSet && Problems.Count == 0;

    /// <summary>Every file under the folder with its size (links count by their target).</summary>
    public IReadOnlyList<ModelFileSize> Files { get; }

    public IReadOnlyList<ModelProblem> Problems { get; }

    /// <summary>The engine's check (ModelFolder.Inspect); null when no folder is set or it does not exist.</summary>
    public ModelInspection? Inspection { get; }

    /// <summary>The folder's condition on disk, whatever the pipeline has loaded (that is <see cref="IModelStatus.State"/>).</summary>
    public ModelFolderState State => !IsSet ? ModelFolderState.NotSet : !Exists ? ModelFolderState.Missing
        : Problems.Count == 0 ? ModelFolderState.Ready : ModelFolderState.Incomplete;

    /// <summary>The manifest says the weights are random (the committed self-test model): pictures are noise.</summary>
    public bool IsSelfTest { get; }

    public ModelManifest? Manifest => Inspection?.Manifest;
    public bool VaeHalfPrecision => Manifest?.VaeDtype == "fp16";

    /// <summary>Bytes per part on disk (0 for a part with no files): weights dominate what a loaded part needs.</summary>
    public long TextEncoderBytes { get; }
    public long TransformerBytes { get; }
    public long VaeBytes { get; }
    public long TotalBytes => Files.Sum(f => f.Bytes);

    public string? TokenizerPath { get; }

    /// <summary>The folder's tokenizer, loaded once in the background (a few hundred ms); null when there is none or it is broken.</summary>
    public Task<Qwen3Tokenizer?> Tokenizer => _tokenizer.Value;

    /// <summary>How a job's error begins when the model folder fails its check; the pages show their own translated words for it.</summary>
    public const string UnusablePrefix = "The model can't be used: ";

    /// <summary>
    /// A sentence in English for the status line, /readyz and failed jobs (the UI translates <see cref="Problems"/>).
    /// It names files relative to the folder and never the folder's own path: people who are not administrators read it.
    /// </summary>
    public string Describe() => !IsSet ? "no model folder is set"
        : Problems.Count == 0 ? "the model folder is ready"
        : string.Join("; ", Problems.Select(p => p.Kind switch
        {
            ModelProblemKind.FolderMissing => "the model folder does not exist",
            ModelProblemKind.NoManifest => $"{p.Subject} is missing: the export or install did not finish",
            ModelProblemKind.BadManifest => $"{p.Subject} is damaged",
            ModelProblemKind.FileMissing => $"{p.Subject} is missing",
            ModelProblemKind.EmptyFile => $"{p.Subject} is empty",
            _ => p.Subject,
        }));

    public static ModelEntry Read(string? configuredAs, string? directory)
    {
        if (directory is null)
            return new(configuredAs, null, [], [], null, false);
        if (!System.IO.Directory.Exists(directory))
            return new(configuredAs, directory, [], [new(ModelProblemKind.FolderMissing, directory)], null, false);

        var files = System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => new ModelFileSize(Path.GetRelativePath(directory, f).Replace('\\', '/'), ModelFolder.FileLength(f) ?? 0))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var problems = new List<ModelProblem>();
        var isSelfTest = false;
        var manifest = Path.Combine(directory, ModelManifest.ManifestFileName);
        if (!File.Exists(manifest))
        {
            // The export tool and the installer write the manifest last: without it they did not finish.
            problems.Add(new(ModelProblemKind.NoManifest, ModelManifest.ManifestFileName));
        }
        else
        {
            try
            {
                using var stream = File.OpenRead(manifest);
                using var doc = JsonDocument.Parse(stream);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.GetString() != ModelManifest.ExpectedFormat)
                    problems.Add(new(ModelProblemKind.BadManifest, ModelManifest.ManifestFileName));
                isSelfTest = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("random_weights", out var random) && random.ValueKind == JsonValueKind.True;
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                problems.Add(new(ModelProblemKind.BadManifest, ModelManifest.ManifestFileName));
            }
        }
        foreach (var required in RequiredFiles)
        {
            var file = files.FirstOrDefault(f => f.Name == required);
            if (file is null)
                problems.Add(new(ModelProblemKind.FileMissing, required));
            else if (file.Bytes == 0)
                problems.Add(new(ModelProblemKind.EmptyFile, required));
        }
        var inspection = ModelFolder.Inspect(directory);
        // Every file is there: the engine's own check has the last word, so a truncated copy or a folder of another
        // architecture shows here rather than at the first generation. Its sentences name files relative to the folder.
        if (problems.Count == 0)
            problems.AddRange(inspection.Problems.Select(p => new ModelProblem(ModelProblemKind.Engine, Relative(p, directory))));
        return new(configuredAs, directory, files, problems, inspection, isSelfTest);
    }

    private static string Relative(string sentence, string directory)
    {
        var prefix = directory.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return sentence.Replace(prefix, "", StringComparison.Ordinal);
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

    private static Qwen3Tokenizer? TryLoadTokenizer(string path)
    {
        try
        {
            return File.Exists(path) ? Qwen3Tokenizer.Load(path) : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or KeyNotFoundException or JsonException)
        {
            // A broken tokenizer.json is reported by the folder check; counters fall back to estimating.
            return null;
        }
    }
}
