using ZImage.Engine;
using ZImage.Web;
using ZImage.Web.Cli;

if (args.Length > 0 && args[0] == "ort-check")
    return await OrtCheckCommand.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddZImageEngine();
builder.AddZImageWeb();

var app = builder.Build();
app.UseZImageWeb();
await app.RunAsync();
return 0;

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
