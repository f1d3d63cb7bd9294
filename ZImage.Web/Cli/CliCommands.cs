namespace ZImage.Web.Cli;

/// <summary>The command words <c>ZImage.Web</c> understands before it would start the web server.</summary>
internal static class CliCommands
{
    public delegate Task<int> Command(string[] args, TextWriter output, TextWriter error);

    public static Command? TryGet(string word) => word switch
    {
        "generate" => GenerateCommand.RunAsync,
        "bench" => BenchCommand.RunAsync,
        "jobs-bench" => JobsBenchCommand.RunAsync,
        "history-bench" => HistoryBenchCommand.RunAsync,
        "load" => Load.LoadCommand.RunAsync,
        "scale-worker" => Scale.ScaleWorkerCommand.RunAsync,
        "scale-bench" => Scale.ScaleBenchCommand.RunAsync,
        "migrate-store" => MigrateStoreCommand.RunAsync,
        // ort-check reads its own arguments from index 1 (the word itself at 0).
        "install-model" => InstallModelCommand.RunAsync,
        "idle-unload-check" => IdleUnloadCheckCommand.RunAsync,
        "ort-check" => (args, _, _) => OrtCheckCommand.RunAsync(["ort-check", .. args]),
        _ => null,
    };
}
