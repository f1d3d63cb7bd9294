using ZImage.Engine.Models.Install;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// Stands in for the converter: copies a finished model folder (the self-test model) through a temporary folder and a
/// rename, as the real one promises; while <see cref="Hold"/> it stops halfway until cancelled.
/// </summary>
public sealed class CopyingConverter(string modelToCopy) : ICheckpointConverter
{
    public volatile bool Hold;

    public long EstimateOutputBytes(string checkpointDir, ConvertOptions options) =>
        Directory.EnumerateFiles(modelToCopy, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    public async Task ConvertAsync(string checkpointDir, string modelDir, ConvertOptions options, IProgress<InstallProgress>? progress, CancellationToken ct)
    {
        var temporary = modelDir + ".partial";
        var files = Directory.EnumerateFiles(modelToCopy, "*", SearchOption.AllDirectories).ToList();
        long total = files.Sum(f => new FileInfo(f).Length), done = 0;
        try
        {
            foreach (var file in files)
            {
                var target = Path.Combine(temporary, Path.GetRelativePath(modelToCopy, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
                done += new FileInfo(file).Length;
                progress?.Report(new InstallProgress(InstallStage.Convert, done, total, Path.GetRelativePath(modelToCopy, file)));
                if (Hold && done > total / 2)
                    await Task.Delay(Timeout.Infinite, ct);
            }
            Directory.Move(temporary, modelDir);
        }
        catch (OperationCanceledException)
        {
            Directory.Delete(temporary, recursive: true);
            throw;
        }
    }
}
