using System.Text.Json;

namespace ZImage.Engine.Models.Install.Checkpoint;

/// <summary>
/// One component folder of a diffusers-layout checkpoint (transformer/, text_encoder/, vae/): a single
/// .safetensors file, or shards listed by a *.safetensors.index.json weight_map. Tensors are handed out lazily
/// (<see cref="WeightData"/>) and read a slice at a time when the graph writer streams them.
/// </summary>
internal sealed class CheckpointPart : IDisposable
{
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> _tensors = new(StringComparer.Ordinal);
    private readonly List<SafetensorsFile> _files = [];

    /// <param name="stripPrefix">Removed from names when any name carries it (a causal-LM text encoder saves under "model.").</param>
    public CheckpointPart(string folder, string stripPrefix = "")
    {
        if (!Directory.Exists(folder))
            throw new ConvertException(ConvertFailure.MissingFile, $"The checkpoint has no folder {Path.GetFileName(folder)}/ ({folder}).") { File = folder };
        Folder = folder;
        try
        {
            var index = Directory.GetFiles(folder, "*.safetensors.index.json").Order(StringComparer.Ordinal).FirstOrDefault();
            if (index is not null)
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
                var map = doc.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
                var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                foreach (var shard in map.Values.Distinct().Order(StringComparer.Ordinal))
                {
                    var path = Path.Combine(folder, shard);
                    if (!File.Exists(path))
                        throw new ConvertException(ConvertFailure.MissingFile, $"{Path.GetFileName(index)} lists {shard}, which is not in {folder} (download incomplete?).") { File = path };
                    files[shard] = Open(path);
                }
                foreach (var (name, shard) in map)
                {
                    if (!files[shard].Entries.TryGetValue(name, out var entry))
                        throw new ConvertException(ConvertFailure.Malformed, $"{Path.GetFileName(index)} places tensor {name} in {shard}, but that file does not hold it.") { File = Path.Combine(folder, shard), Tensor = name };
                    _tensors[name] = (files[shard], entry);
                }
            }
            else
            {
                var singles = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToArray();
                if (singles.Length == 0)
                    throw new ConvertException(ConvertFailure.MissingFile, $"No .safetensors files in {folder}.") { File = folder };
                foreach (var path in singles)
                {
                    var file = Open(path);
                    foreach (var (name, entry) in file.Entries)
                        _tensors[name] = (file, entry);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        if (stripPrefix.Length > 0 && _tensors.Keys.Any(k => k.StartsWith(stripPrefix, StringComparison.Ordinal)))
            Names = _tensors.Keys.Where(k => k.StartsWith(stripPrefix, StringComparison.Ordinal)).ToDictionary(k => k[stripPrefix.Length..], k => k, StringComparer.Ordinal);
        else
            Names = _tensors.Keys.ToDictionary(k => k, k => k, StringComparer.Ordinal);
    }

    public string Folder { get; }

    /// <summary>Architecture name → name in the checkpoint.</summary>
    public IReadOnlyDictionary<string, string> Names { get; }

    public bool Contains(string name) => Names.ContainsKey(name);

    public long[] Shape(string name) => Entry(name).Entry.Shape;

    public WeightData Get(string name)
    {
        var (file, entry) = Entry(name);
        return new SafetensorsWeight(file, entry);
    }

    public void Dispose()
    {
        foreach (var file in _files)
            file.Dispose();
        _files.Clear();
    }

    private (SafetensorsFile File, SafetensorsEntry Entry) Entry(string name) =>
        Names.TryGetValue(name, out var raw) ? _tensors[raw] : throw new ConvertException(ConvertFailure.TensorsDoNotMatch, $"{Path.GetFileName(Folder)}: the checkpoint has no tensor {name}.") { Tensor = name };

    private SafetensorsFile Open(string path)
    {
        try
        {
            var file = SafetensorsFile.Open(path);
            _files.Add(file);
            return file;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException)
        {
            throw new ConvertException(ConvertFailure.Malformed, e.Message, e) { File = path };
        }
    }
}
