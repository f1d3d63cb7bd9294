namespace ZImage.Tools;

/// <summary>
/// <c>dotnet run --project ZImage.Tools -- WORD [options]</c>: benchmarks, the load driver, the scale-out worker and
/// diagnostics. None of them is part of the production server; the operator's own words (install-model, migrate-store)
/// stay with it.
/// </summary>
internal static class ToolCommands
{
    public delegate Task<int> Command(string[] args, TextWriter output, TextWriter error);

    public static readonly IReadOnlyDictionary<string, Command> All = new Dictionary<string, Command>(StringComparer.Ordinal)
    {
        ["generate"] = GenerateCommand.RunAsync,
        ["bench"] = BenchCommand.RunAsync,
        ["jobs-bench"] = JobsBenchCommand.RunAsync,
        ["history-bench"] = HistoryBenchCommand.RunAsync,
        ["load"] = Load.LoadCommand.RunAsync,
        ["scale-worker"] = Scale.ScaleWorkerCommand.RunAsync,
        ["scale-bench"] = Scale.ScaleBenchCommand.RunAsync,
        ["idle-unload-check"] = IdleUnloadCheckCommand.RunAsync,
        ["session-soak"] = SessionSoakCommand.RunAsync,
        ["ort-check"] = OrtCheckCommand.RunAsync,
    };

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && All.TryGetValue(args[0], out var command))
            return await command(args[1..], Console.Out, Console.Error);
        await Console.Error.WriteLineAsync(
            $"usage: ZImage.Tools {string.Join(" | ", All.Keys)} [options] (README, \"Command words\"). " +
            "install-model and migrate-store belong to the studio: dotnet run --project ZImage.Web -- install-model ...");
        return 2;
    }
}
