using ZImage.Engine;
using ZImage.Web;
using ZImage.Web.Operator;
using ZImage.Web.Ui;

// The operator's command words (install-model, migrate-store) run without the web server; the tools are in ZImage.Tools.
if (args.Length > 0 && OperatorCommands.TryGet(args[0]) is { } command)
    return await command(args[1..], Console.Out, Console.Error);

var builder = WebApplication.CreateBuilder(args);
builder.AddZImageEngine();
builder.AddZImageWeb();

var app = builder.Build();
// After every configuration source is in (data/settings.json too): a refusal is a sentence and an exit code, not a stack trace.
if (ListeningGuard.Check(app.Configuration) is { } refusal)
{
    await Console.Error.WriteLineAsync(refusal);
    return 2;
}
app.UseZImageWeb();
await app.RunAsync();
return 0;

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
