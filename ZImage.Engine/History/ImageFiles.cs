using System.Globalization;

namespace ZImage.Engine.History;

/// <summary>Where images live (<c>outputs/yyyy-MM-dd/&lt;job&gt;-&lt;i&gt;.png</c>, thumbnails in <c>thumbs/</c> beside them) and keeping files and rows in step.</summary>
public sealed class ImageFiles(string outputRoot)
{
    public string OutputRoot { get; } = Path.GetFullPath(outputRoot);

    /// <summary>Relative paths (forward slashes) for image <paramref name="index"/> of a job finished on <paramref name="localDate"/>.</summary>
    public (string Png, string Thumbnail) PathsFor(string jobId, int index, DateTime localDate)
    {
        string day = localDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string name = $"{jobId}-{index}.png";
        return ($"{day}/{name}", $"{day}/thumbs/{name}");
    }

    public string Absolute(string relative)
    {
        string full = Path.GetFullPath(Path.Combine(OutputRoot, relative));
        // Paths come from our own rows, but a hand-edited database must still not reach outside the folder.
        if (!full.StartsWith(OutputRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidOperationException($"image path '{relative}' leaves the output folder");
        return full;
    }

    public static void DeleteQuietly(params string[] paths)
    {
        foreach (var path in paths)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Left for the start-up reconciliation, which deletes files without rows.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// After a crash: rows whose picture is missing are deleted, picture files no row names are
    /// deleted, half-written temporaries are deleted. Runs before the first job starts.
    /// </summary>
    public async Task<ReconcileReport> ReconcileAsync(IPictureStore store, CancellationToken ct)
    {
        var rows = await store.ListImagePathsAsync(ct);
        var known = new HashSet<string>(StringComparer.Ordinal);
        int rowsRemoved = 0;
        foreach (var row in rows)
        {
            if (File.Exists(Absolute(row.RelativePath)))
            {
                known.Add(Normalise(row.RelativePath));
                known.Add(Normalise(row.RelativeThumbnailPath));
                continue;
            }
            await store.DeleteImageRowAsync(row.Id, ct);
            DeleteQuietly(Absolute(row.RelativeThumbnailPath));
            rowsRemoved++;
        }

        int filesRemoved = 0;
        if (Directory.Exists(OutputRoot))
        {
            foreach (var file in Directory.EnumerateFiles(OutputRoot, "*", SearchOption.AllDirectories))
            {
                bool temporary = file.EndsWith(".tmp", StringComparison.Ordinal);
                bool picture = file.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
                if (!temporary && (!picture || known.Contains(Normalise(Path.GetRelativePath(OutputRoot, file)))))
                    continue;
                DeleteQuietly(file);
                filesRemoved++;
            }
        }
        return new ReconcileReport(rowsRemoved, filesRemoved);
    }

    private static string Normalise(string relative) => relative.Replace('\\', '/');
}

public sealed record ReconcileReport(int RowsWithoutFile, int FilesWithoutRow);
