using ZImage.Engine;
using ZImage.Web;

var builder = WebApplication.CreateBuilder(args);
builder.AddZImageEngine();
builder.AddZImageWeb();

var app = builder.Build();
app.UseZImageWeb();
app.Run();

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
