using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;

namespace ZImage.Engine.Models.Install.Hub;

/// <summary>
/// Downloads the files of a hub checkpoint that the converter needs into the cache (<see cref="HubCache"/>):
/// resumable with HTTP Range, retried with back-off, every file checked against the hub's SHA-256 and renamed into
/// place only then, a bounded number of files at once. Cancelling keeps the partial files for the next run.
/// </summary>
public sealed partial class CheckpointDownloader : ICheckpointDownloader, IDisposable
{
    private const int BufferBytes = 1 << 20;
    private readonly HubOptions _options;
    private readonly HubHttp _http;

    public CheckpointDownloader(IOptions<HubOptions> options)
        : this(options.Value)
    {
    }

    public CheckpointDownloader(HubOptions options)
    {
        _options = options;
        _http = new HubHttp(options);
    }

    public void Dispose() => _http.Dispose();

    public async Task<DownloadPlan> PlanAsync(HubSource source, string cacheRoot, CancellationToken ct)
    {
        var (api, endpoint) = Resolve(source);
        var listed = await api.ListAsync(_http, endpoint, source, TokenFor(source), ct);
        if (listed.FirstOrDefault(f => !CheckpointFiles.IsSafeRelativePath(f.Path)) is { } bad)
            throw new HubDownloadException(HubFailure.BadListing, $"The listing from {endpoint.Host} names an unsafe path '{bad.Path}'; nothing was downloaded.") { Host = endpoint.Host, File = bad.Path };
        var files = listed.Where(f => CheckpointFiles.IsNeeded(f.Path)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        if (!files.Any(f => f.Path == CheckpointFiles.PipelineIndex))
            throw new HubDownloadException(HubFailure.BadListing, $"{source.Repository} at {api.Revision(source)} on {endpoint.Host} has no {CheckpointFiles.PipelineIndex}: it is not a checkpoint in the diffusers layout.") { Host = endpoint.Host };
        var cache = new HubCache(cacheRoot, api, source);
        return new DownloadPlan(source, files, files.Sum(f => f.Size), files.Sum(cache.CachedBytes));
    }

    public async Task<string> DownloadAsync(DownloadPlan plan, string cacheRoot, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var (api, endpoint) = Resolve(plan.Source);
        if (plan.Files.FirstOrDefault(f => !CheckpointFiles.IsSafeRelativePath(f.Path) || f.Size < 0) is { } bad)
            throw new ArgumentException($"The plan names an unsafe path or size ('{bad.Path}', {bad.Size} bytes).", nameof(plan));
        var cache = new HubCache(cacheRoot, api, plan.Source);
        var meter = new ProgressMeter(progress, plan.Files.Sum(f => f.Size), TimeSpan.FromMilliseconds(_options.ProgressIntervalMilliseconds));

        var todo = new List<HubFile>();
        foreach (var f in plan.Files)
        {
            if (cache.IsVerified(f))
                meter.Add(f.Size, f.Path);
            else
                todo.Add(f);
        }
        // Checked before the first byte so a download that cannot fit fails now, not after an hour.
        long needed = todo.Sum(f => f.Size - Math.Min(f.Size, Math.Max(Length(cache.PartPath(f)), Length(cache.FinalPath(f)))));
        long free = FreeBytes(cache.PartialDir);
        if (needed > free)
            throw DiskFull(cache, needed, free, null);

        var context = new Transfer(api, endpoint, plan.Source, cache, meter, TokenFor(plan.Source));
        // Largest first: the long transfers start at once and the small files fill the gaps.
        await RunBoundedAsync(todo.OrderByDescending(f => f.Size), f => FetchAsync(context, f, ct), _options.MaxConnections, ct);
        meter.Report(null, force: true);
        return cache.CheckpointDir;
    }

    private sealed record Transfer(HubApi Api, Uri Endpoint, HubSource Source, HubCache Cache, ProgressMeter Meter, string? Token)
    {
        public string TokenAuthority => Endpoint.GetLeftPart(UriPartial.Authority);
    }

    private async Task FetchAsync(Transfer t, HubFile f, CancellationToken ct)
    {
        string final = t.Cache.FinalPath(f);
        // A file left by a run that stopped between its rename and its marker: hashing it beats fetching it again.
        if (Length(final) == f.Size && (f.Sha256 is null || await HashFileAsync(final, ct) == f.Sha256))
        {
            t.Cache.MarkVerified(f);
            t.Meter.Add(f.Size, f.Path);
            return;
        }
        t.Cache.Forget(f); // a stale copy (the revision moved on) must not stay beside the new files

        string part = t.Cache.PartPath(f);
        for (int round = 1; ; round++)
        {
            string sha = await ReceiveAsync(t, f, part, ct);
            if (f.Sha256 is null || sha == f.Sha256)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(final)!);
                File.Move(part, final, overwrite: true);
                t.Cache.MarkVerified(f);
                return;
            }
            t.Meter.Add(-f.Size, f.Path);
            File.Delete(part);
            if (round == 2)
                throw new HubDownloadException(HubFailure.HashMismatch, $"{f.Path} from {t.Endpoint.Host} did not match its published SHA-256 twice (expected {f.Sha256}, got {sha}); the file was deleted. Try again later or use another source.") { Host = t.Endpoint.Host, File = f.Path };
        }
    }

    /// <summary>Brings the partial file up to the full size, resuming where it stopped; returns the SHA-256 of all of it.</summary>
    private async Task<string> ReceiveAsync(Transfer t, HubFile f, string partPath, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(partPath)!);
        var uri = t.Api.FileUri(t.Endpoint, t.Source, f.Path);
        long counted = 0; // bytes of this file in the progress meter
        void Count(long length)
        {
            t.Meter.Add(length - counted, f.Path);
            counted = length;
        }

        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long hashed = 0;
            await using (var stream = OpenPart(partPath, f))
            {
                if (stream.Length > f.Size)
                    stream.SetLength(0);
                Count(stream.Length);
                bool moved = false;
                bool done = false;
                while (!done)
                {
                    done = await _http.RetryAsync(async () =>
                    {
                        moved = false;
                        if (hashed != stream.Length)
                            hashed = await RehashAsync(hash, stream, ct);
                        if (stream.Length == f.Size)
                            return true;

                        using var response = await _http.GetAsync(uri, t.Token, t.TokenAuthority, stream.Length, f.Path, ct);
                        bool resumes = response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == stream.Length;
                        if (!resumes)
                        {
                            if (stream.Length == 0 && response.StatusCode != HttpStatusCode.OK)
                                throw new HubDownloadException(HubFailure.HubError, $"{uri.Host} answered HTTP {(int)response.StatusCode} to a request for all of {f.Path}.") { Host = uri.Host, File = f.Path, Status = (int)response.StatusCode };
                            // 200 (the server ignored Range), 416 or another range than asked: what is kept may not be
                            // a prefix of what is served, so start the file over.
                            stream.SetLength(0);
                            hash.GetHashAndReset();
                            hashed = 0;
                            Count(0);
                            if (response.StatusCode != HttpStatusCode.OK)
                                return false;
                        }
                        stream.Position = stream.Length;
                        await using var body = await response.Content.ReadAsStreamAsync(ct);
                        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
                        try
                        {
                            while (stream.Length < f.Size)
                            {
                                int n = await ReadAsync(body, buffer, uri, f.Path, ct);
                                if (n == 0)
                                    break;
                                n = (int)Math.Min(n, f.Size - stream.Length); // a longer body than listed fails the hash, never overfills
                                await stream.WriteAsync(buffer.AsMemory(0, n), ct);
                                hash.AppendData(buffer, 0, n);
                                hashed += n;
                                moved = true;
                                Count(stream.Length);
                            }
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                        }
                        if (stream.Length < f.Size)
                            throw new TransientHubException(uri, f.Path, null, null, new IOException($"the connection closed after {stream.Length} of {f.Size} bytes"));
                        return true;
                    }, () => moved, ct);
                }
                await stream.FlushAsync(ct);
                stream.Flush(flushToDisk: true); // the rename that follows must not publish bytes still in the page cache only
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (IOException e) when (JobWorker.IsDiskFull(e))
        {
            throw DiskFull(t.Cache, t.Meter.Total - t.Meter.Done, FreeBytes(t.Cache.PartialDir), e);
        }
    }

    /// <summary>
    /// Opens the partial file for this run alone: a second download of the same checkpoint into the same cache (the
    /// studio and the install-model command at once) would interleave its bytes with ours, so it is refused instead.
    /// </summary>
    private static FileStream OpenPart(string partPath, HubFile f)
    {
        try
        {
            return new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferBytes, useAsync: true);
        }
        catch (IOException e) when (!JobWorker.IsDiskFull(e) && File.Exists(partPath))
        {
            throw new HubDownloadException(HubFailure.InUse, $"{f.Path} is being downloaded into {Path.GetDirectoryName(partPath)} by another install; wait for it to finish or cancel it.", e) { File = f.Path };
        }
    }

    private async Task<int> ReadAsync(Stream body, byte[] buffer, Uri uri, string file, CancellationToken ct)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(_http.StallTimeout);
        try
        {
            return await body.ReadAsync(buffer, stall.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new TransientHubException(uri, file, null, null, e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientHubException(uri, file, null, null, e);
        }
    }

    private static async Task<long> RehashAsync(IncrementalHash hash, FileStream stream, CancellationToken ct)
    {
        hash.GetHashAndReset();
        stream.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                total += n;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    /// <summary>
    /// Runs the fetches, at most <paramref name="width"/> at once. The first failure stops the others and is the one
    /// thrown; a cancellation by the caller is thrown as such.
    /// </summary>
    private static async Task RunBoundedAsync(IEnumerable<HubFile> files, Func<HubFile, Task> fetch, int width, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var gate = new SemaphoreSlim(width);
        Exception? first = null;
        var tasks = files.Select(async f =>
        {
            await gate.WaitAsync(stop.Token);
            try
            {
                stop.Token.ThrowIfCancellationRequested();
                await fetch(f);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                if (e is not OperationCanceledException)
                    Interlocked.CompareExchange(ref first, e, null);
                await stop.CancelAsync();
                throw;
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (first is not null && !ct.IsCancellationRequested)
        {
            ExceptionDispatchInfo.Throw(first);
        }
    }

    private (HubApi Api, Uri Endpoint) Resolve(HubSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!Enum.IsDefined(source.Hub))
            throw new ArgumentException("HubSource.Hub must be HuggingFace or ModelScope.", nameof(source));
        if (source.Repository is null || !RepositoryName().IsMatch(source.Repository) || source.Repository.Contains(".."))
            throw new ArgumentException($"HubSource.Repository must be 'owner/name' (letters, digits, '.', '_', '-'); got '{source.Repository}'.", nameof(source));
        if (source.Revision is null || !RevisionName().IsMatch(source.Revision) || source.Revision.Contains(".."))
            throw new ArgumentException($"HubSource.Revision must be a branch, tag or commit name (letters, digits, '.', '_', '-'); got '{source.Revision}'.", nameof(source));
        string endpoint = source.Endpoint ?? _options.EndpointFor(source.Hub);
        if (!HubOptions.IsHttpUrl(endpoint))
            throw new ArgumentException($"HubSource.Endpoint must be an absolute http:// or https:// URL; got '{endpoint}'.", nameof(source));
        return (HubApi.For(source.Hub), new Uri(endpoint));
    }

    private string? TokenFor(HubSource source) => source.Hub == HubKind.HuggingFace ? _options.HuggingFaceToken : null;

    private static HubDownloadException DiskFull(HubCache cache, long needed, long free, Exception? inner) =>
        new(HubFailure.DiskFull,
            $"Disk full: the download needs {Gb(needed)} more in {cache.PartialDir} but only {Gb(free)} is free. " +
            "Free some space or choose another cache folder; what was downloaded so far is kept and resumes.", inner)
        { NeededBytes = needed, FreeBytes = free };

    private static string Gb(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.##} GiB ({bytes:N0} bytes)" : $"{bytes:N0} bytes";

    private static long FreeBytes(string folder) => new DriveInfo(folder).AvailableFreeSpace;

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex RepositoryName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex RevisionName();

    /// <summary>Overall bytes done across parallel files; reports at most once per interval so the UI is not flooded.</summary>
    private sealed class ProgressMeter(IProgress<InstallProgress>? progress, long total, TimeSpan interval)
    {
        private readonly long _interval = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        private long _done;
        private long _lastReport;

        public long Total => total;

        public long Done => Interlocked.Read(ref _done);

        public void Add(long bytes, string item)
        {
            Interlocked.Add(ref _done, bytes);
            Report(item, force: false);
        }

        public void Report(string? item, bool force)
        {
            if (progress is null)
                return;
            long now = Stopwatch.GetTimestamp();
            long last = Interlocked.Read(ref _lastReport);
            if (!force && _interval > 0 && (now - last < _interval || Interlocked.CompareExchange(ref _lastReport, now, last) != last))
                return;
            progress.Report(new InstallProgress(InstallStage.Download, Done, total, item));
        }
    }
}
