namespace ZImage.Web.Operator;

/// <summary>
/// The command words the studio itself understands before it would start the web server: what an operator runs against
/// the studio's own model and data folders, with the published server alone (no build tools on the box). Benchmarks, the
/// load driver and diagnostics live in ZImage.Tools.
/// </summary>
internal static class OperatorCommands
{
    public delegate Task<int> Command(string[] args, TextWriter output, TextWriter error);

    public static Command? TryGet(string word) => word switch
    {
        "install-model" => InstallModelCommand.RunAsync,
        "migrate-store" => MigrateStoreCommand.RunAsync,
        _ => null,
    };
}
