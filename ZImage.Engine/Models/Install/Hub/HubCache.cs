using System.Globalization;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.Models.Install.Hub;

/// <summary>
/// The cache folder of one hub repository at one revision:
/// <code>
/// {root}/{hub}/{owner}/{name}/{revision}/…            verified files, as the checkpoint folder the converter reads
/// {root}/{hub}/{owner}/{name}/.partial/{revision}/…   {path}.part: bytes received so far, appended to on resume
/// {root}/{hub}/{owner}/{name}/.verified/{revision}/…  {path}.ok: "sha256 size mtime" written after the hash matched
/// </code>
/// A file reaches the checkpoint folder only by a rename after its hash matched, so that folder never holds a
/// partial or unchecked file; the marker lets a second install trust it without hashing gigabytes again.
/// </summary>
internal sealed class HubCache
{
    public HubCache(string cacheRoot, HubApi api, HubSource source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheRoot);
        string repo = Path.Combine(Path.GetFullPath(cacheRoot), api.CacheName, Owner(source), Name(source));
        string revision = api.Revision(source);
        CheckpointDir = Path.Combine(repo, revision);
        _partialDir = Path.Combine(repo, ".partial", revision);
        _verifiedDir = Path.Combine(repo, ".verified", revision);
    }

    private readonly string _partialDir;
    private readonly string _verifiedDir;

    public string CheckpointDir { get; }

    public string FinalPath(HubFile f) => Path.Combine(CheckpointDir, Local(f.Path));

    public string PartPath(HubFile f) => Path.Combine(_partialDir, Local(f.Path) + ".part");

    private string MarkerPath(HubFile f) => Path.Combine(_verifiedDir, Local(f.Path) + ".ok");

    /// <summary>The folder whose disk the downloads fill (created if missing, so its free space can be read).</summary>
    public string PartialDir
    {
        get
        {
            Directory.CreateDirectory(_partialDir);
            return _partialDir;
        }
    }

    /// <summary>True when the file was verified before and has not changed since (size and write time as recorded).</summary>
    public bool IsVerified(HubFile f)
    {
        var final = new FileInfo(FinalPath(f));
        string marker = MarkerPath(f);
        if (!final.Exists || final.Length != f.Size || !File.Exists(marker))
            return false;
        return File.ReadAllText(marker).Trim() == MarkerText(f, final);
    }

    public void MarkVerified(HubFile f) => AtomicFile.WriteAllBytes(MarkerPath(f), System.Text.Encoding.UTF8.GetBytes(MarkerText(f, new FileInfo(FinalPath(f))) + "\n"));

    public void Forget(HubFile f)
    {
        foreach (var path in new[] { MarkerPath(f), FinalPath(f) })
        {
            if (File.Exists(path))
                File.Delete(path);
        }
    }

    /// <summary>Bytes of this file already here: all of it when verified, else what the partial holds (which a resume keeps).</summary>
    public long CachedBytes(HubFile f)
    {
        if (IsVerified(f))
            return f.Size;
        var part = new FileInfo(PartPath(f));
        return part.Exists && part.Length <= f.Size ? part.Length : 0;
    }

    private static string MarkerText(HubFile f, FileInfo final) =>
        string.Create(CultureInfo.InvariantCulture, $"{f.Sha256 ?? "-"} {f.Size} {final.LastWriteTimeUtc.Ticks}");

    private static string Local(string path) => path.Replace('/', Path.DirectorySeparatorChar);

    private static string Owner(HubSource s) => s.Repository[..s.Repository.IndexOf('/')];

    private static string Name(HubSource s) => s.Repository[(s.Repository.IndexOf('/') + 1)..];
}
