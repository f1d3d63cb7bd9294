using System.Globalization;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// The last measured cold start: how long the first run after loading the model took to reach its first step
/// (opening the sessions dominates; one prompt encode and one step are included). Kept across restarts so the first
/// ETA after an idle unload or a restart already knows it.
/// </summary>
public interface IModelLoadRecord
{
    TimeSpan? Last { get; }
    void Save(TimeSpan measured);
}

/// <summary>Kept in memory only (tests, or a host without a data folder).</summary>
public sealed class MemoryModelLoadRecord : IModelLoadRecord
{
    public TimeSpan? Last { get; private set; }
    public void Save(TimeSpan measured) => Last = measured;
}

/// <summary>One number in a small text file in the data folder, replaced whole (temporary file and rename).</summary>
public sealed class FileModelLoadRecord(string path) : IModelLoadRecord
{
    private readonly Lock _lock = new();
    private TimeSpan? _last = Read(path);

    public TimeSpan? Last
    {
        get
        {
            lock (_lock)
                return _last;
        }
    }

    public void Save(TimeSpan measured)
    {
        lock (_lock)
        {
            _last = measured;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(measured.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)));
        }
    }

    private static TimeSpan? Read(string path)
    {
        try
        {
            // A damaged or hand-edited file only means "not measured yet".
            return double.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s is >= 0 and < 86_400
                ? TimeSpan.FromSeconds(s)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
