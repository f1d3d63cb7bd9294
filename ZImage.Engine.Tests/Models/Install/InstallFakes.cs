using ZImage.Engine.Models.Install;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>A hub that "downloads" by copying a local checkpoint in chunks; the test decides when each chunk arrives.</summary>
internal sealed class FakeDownloader(string checkpoint, ManualClock clock, long total = 4_000_000_000, long cached = 0) : ICheckpointDownloader
{
    public int Downloads { get; private set; }
    public SemaphoreSlim? Gate { get; init; }
    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<DownloadPlan> PlanAsync(HubSource source, string cacheRoot, CancellationToken ct) =>
        Task.FromResult(new DownloadPlan(source,
        [
            new HubFile("transformer/diffusion_pytorch_model-00001-of-00002.safetensors", total / 2, null),
            new HubFile("transformer/diffusion_pytorch_model-00002-of-00002.safetensors", total / 2 - 100_000_000, null),
            new HubFile("vae/diffusion_pytorch_model.safetensors", 100_000_000, null),
            new HubFile("model_index.json", 0, null),
        ], total, cached));

    public async Task<string> DownloadAsync(DownloadPlan plan, string cacheRoot, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        Downloads++;
        Started.TrySetResult();
        // Four chunks, one simulated second apart: 1 GB/s.
        for (var done = plan.CachedBytes; done < plan.TotalBytes;)
        {
            if (Gate is not null)
                await Gate.WaitAsync(ct);
            ct.ThrowIfCancellationRequested();
            clock.Advance(TimeSpan.FromSeconds(1));
            done = Math.Min(plan.TotalBytes, done + 1_000_000_000);
            progress?.Report(new InstallProgress(InstallStage.Download, done, plan.TotalBytes, "transformer/…safetensors"));
        }
        return checkpoint;
    }
}

/// <summary>
/// Converts by copying a finished model folder (the self-test model) into a temporary folder and renaming it, as the
/// real converter promises; records what it was asked.
/// </summary>
internal sealed class CopyingConverter(string modelToCopy, long estimate = 2_000_000_000) : ICheckpointConverter
{
    public List<(string Checkpoint, string ModelDir, ConvertOptions Options)> Calls { get; } = [];

    public long EstimateOutputBytes(string checkpointDir, ConvertOptions options) => estimate;

    public Task ConvertAsync(string checkpointDir, string modelDir, ConvertOptions options, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        Calls.Add((checkpointDir, modelDir, options));
        var temporary = modelDir + ".partial";
        var files = Directory.EnumerateFiles(modelToCopy, "*", SearchOption.AllDirectories).ToList();
        long total = files.Sum(f => new FileInfo(f).Length), done = 0;
        foreach (var file in files)
        {
            ct.ThrowIfCancellationRequested();
            var target = Path.Combine(temporary, Path.GetRelativePath(modelToCopy, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
            done += new FileInfo(file).Length;
            progress?.Report(new InstallProgress(InstallStage.Convert, done, total, Path.GetRelativePath(modelToCopy, file)));
        }
        Directory.Move(temporary, modelDir);
        return Task.CompletedTask;
    }
}

internal sealed class FixedCheck(params string[] problems) : IInstallCheck
{
    public List<string> Checked { get; } = [];

    public Task<IReadOnlyList<string>> CheckAsync(string modelDirectory, CancellationToken ct)
    {
        Checked.Add(modelDirectory);
        return Task.FromResult<IReadOnlyList<string>>(problems);
    }
}

internal sealed class RecordingActivator : IModelActivator
{
    public List<string> Activated { get; } = [];

    public Task ActivateAsync(string modelDirectory, CancellationToken ct)
    {
        Activated.Add(modelDirectory);
        return Task.CompletedTask;
    }
}

internal sealed class FixedDisk(long freeBytes) : IDiskSpace
{
    public long FreeBytes(string path) => freeBytes;
}

internal sealed class ManualClock : TimeProvider
{
    private long _ticks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
