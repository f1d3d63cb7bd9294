namespace ZImage.Web.Cli;

/// <summary>The command words <c>ZImage.Web</c> understands before it would start the web server.</summary>
internal static class CliCommands
{
    public delegate Task<int> Command(string[] args, TextWriter output, TextWriter error);

    public static Command? TryGet(string word) => word switch
    {
        "generate" => GenerateCommand.RunAsync,
        _ => null,
    };
}
