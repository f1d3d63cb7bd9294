using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using ZImage.Engine.Models;
using ZImage.Engine.Models.Install;
using ZImage.Web.Operator;
using ZImage.Web.Tests.Kit;

namespace ZImage.Web.Tests.Operator;

/// <summary>install-model: every bad argument is named with what it accepts; a run prints plain lines when redirected.</summary>
public sealed class InstallModelCommandTests : IDisposable
{
    private static readonly string SelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-install-cli-").FullName;

    [Theory]
    [InlineData(new[] { "--out", "x" }, "--from is required: a checkpoint folder on this machine, hf (Hugging Face) or modelscope")]
    [InlineData(new[] { "--from", "hf" }, "--out is required")]
    [InlineData(new[] { "--from", "hf", "--out", "x", "--dtype", "fp8" }, "--dtype must be fp16 or bf16 (got 'fp8')")]
    [InlineData(new[] { "--from", "hf", "--out", "x", "--vae-dtype", "bf16" }, "--vae-dtype must be fp16 or fp32 (got 'bf16')")]
    [InlineData(new[] { "--from", "hf", "--out", "x", "--endpoint", "hf-mirror.com" }, "--endpoint must be an http:// or https:// address, e.g. https://hf-mirror.com (got 'hf-mirror.com')")]
    [InlineData(new[] { "--from", "/no/such/checkpoint", "--out", "x" }, "--from must be a checkpoint folder that exists, hf or modelscope (got '/no/such/checkpoint': no such folder)")]
    [InlineData(new[] { "--from", "hf", "--out", "x", "--dtpye", "bf16" }, "unknown option: --dtpye")]
    [InlineData(new[] { "--from", "hf", "--out" }, "--out needs a value")]
    public async Task ABadArgumentIsRefusedNamingTheFlagAndWhatItAccepts(string[] args, string message)
    {
        var error = new StringWriter();

        var rc = await InstallModelCommand.RunAsync(args, new StringWriter(), error);

        Assert.Equal(InstallModelCommand.BadArguments, rc);
        Assert.StartsWith($"error: {message}", error.ToString());
    }

    [Fact]
    public void AnEndpointBelongsToAHubNotToAFolder()
    {
        var e = Assert.Throws<CliException>(() => InstallModelCommand.Parse(["--from", _root, "--out", "x", "--endpoint", "https://hf-mirror.com"]));
        Assert.Equal("--endpoint only applies to --from hf or --from modelscope, not to a folder", e.Message);
    }

    [Fact]
    public void TheSourcesAndPrecisionsAreReadAsWritten()
    {
        var mirror = InstallModelCommand.Parse(["--from", "hf", "--endpoint", "https://hf-mirror.com", "--out", "m", "--dtype", "bf16", "--vae-dtype", "fp16"]);
        Assert.Equal(new InstallSource.Hub(new HubSource(HubKind.HuggingFace, Endpoint: "https://hf-mirror.com")), mirror.Request.Source);
        Assert.Equal(new ConvertOptions(WeightDtype.Bf16, WeightDtype.Fp16), mirror.Request.Convert);
        Assert.Equal(Path.GetFullPath("m"), mirror.Request.ModelDirectory);

        var modelScope = InstallModelCommand.Parse(["--from", "modelscope", "--out", "m"]);
        Assert.Equal(new InstallSource.Hub(new HubSource(HubKind.ModelScope)), modelScope.Request.Source);
        Assert.Equal(new ConvertOptions(WeightDtype.Fp16, WeightDtype.Fp32), modelScope.Request.Convert);

        var folder = InstallModelCommand.Parse(["--from", _root, "--out", "m"]);
        Assert.Equal(new InstallSource.Folder(_root), folder.Request.Source);
    }

    [Fact]
    public async Task AFolderInstallPrintsThePlanAndOneLinePerStageAndEndsWithAWorkingFolder()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var target = Path.Combine(_root, "z-image-turbo");

        var rc = await InstallModelCommand.RunAsync(["--from", _root, "--out", target, "--provider", "cpu"], output, error,
            services => services.AddSingleton<ICheckpointDownloader, NoHub>().AddSingleton<ICheckpointConverter>(new CopyingConverter(SelfTest)),
            CancellationToken.None);

        Assert.True(rc == InstallModelCommand.Installed, error.ToString());
        var text = output.ToString();
        Assert.Contains($"from {_root} into {target}", text);
        Assert.Contains("disk needed", text);
        Assert.Contains("convert ", text);
        Assert.Contains("check: making a 256×256 test picture", text);
        Assert.Contains("its test picture is fine", text);
        Assert.True(ModelEntry.Read(target, target).IsUsable);
    }

    [Fact]
    public async Task InATerminalTheStagesShowAsProgressBars()
    {
        var screen = new StringWriter();
        var target = Path.Combine(_root, "z-image-turbo");

        var rc = await InstallModelCommand.RunAsync(["--from", _root, "--out", target, "--provider", "cpu"], screen, new StringWriter(),
            services => services.AddSingleton<ICheckpointConverter>(new CopyingConverter(SelfTest)), CancellationToken.None,
            writer => AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.Yes,
                Interactive = InteractionSupport.Yes,
                ColorSystem = ColorSystemSupport.NoColors,
                Out = new AnsiConsoleOutput(writer),
            }));

        Assert.Equal(InstallModelCommand.Installed, rc);
        var text = screen.ToString();
        Assert.Contains("convert ", text);
        Assert.Contains("━", text); // the bar itself
        Assert.Contains("100%", text);
        Assert.Contains("check: making a 256×256 test picture", text);
    }

    [Fact]
    public async Task AFolderThatIsNotACheckpointFailsWithTheConvertersReasonAndWritesNothing()
    {
        var error = new StringWriter();
        var target = Path.Combine(_root, "m");

        var rc = await InstallModelCommand.RunAsync(["--from", _root, "--out", target], new StringWriter(), error, null, CancellationToken.None);

        Assert.Equal(InstallModelCommand.Failed, rc);
        Assert.StartsWith("error: ", error.ToString());
        Assert.Contains("error: The checkpoint has no text_encoder", error.ToString());
        Assert.DoesNotContain("   at ", error.ToString());
        Assert.False(Directory.Exists(target));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private sealed class NoHub : ICheckpointDownloader
    {
        public Task<DownloadPlan> PlanAsync(HubSource source, string cacheRoot, CancellationToken ct) => throw new InvalidOperationException("no hub in this test");
        public Task<string> DownloadAsync(DownloadPlan plan, string cacheRoot, IProgress<InstallProgress>? progress, CancellationToken ct) => throw new InvalidOperationException("no hub in this test");
    }
}
