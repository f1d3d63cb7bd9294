using Microsoft.AspNetCore.Components.Web;
using ZImage.Engine.Jobs;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;

namespace ZImage.Web.Tests.Ui;

public class GenerateSessionTests
{
    private static readonly KeyboardEventArgs CtrlEnter = new() { Key = "Enter", CtrlKey = true };

    [Fact]
    public async Task CtrlEnterSubmitsAndThePicturesArriveWithoutReload()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "a lighthouse at dusk";
        session.Form.Count = 2;
        session.Form.Steps = 3;

        Assert.True(await session.HandleKeyAsync(CtrlEnter));

        await Eventually.UntilAsync(() => session.Results.Count == 2, "two pictures in the results");
        Assert.All(session.Results, r => Assert.Equal("a lighthouse at dusk", r.Parameters.Prompt));
        Assert.Equal(JobStatus.Succeeded, Assert.Single(session.Jobs).Status);
        Assert.NotNull(session.Form.LastSeed);
    }

    [Theory]
    [InlineData("Enter", false, false)]
    [InlineData("a", true, false)]
    public async Task OtherKeysDoNotSubmit(string key, bool ctrl, bool meta)
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = "a fox";
        Assert.False(await session.HandleKeyAsync(new KeyboardEventArgs { Key = key, CtrlKey = ctrl, MetaKey = meta }));
        Assert.Empty(session.Jobs);
    }

    [Fact]
    public async Task CmdEnterSubmitsOnAMac()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = "a fox";
        Assert.True(await session.HandleKeyAsync(new KeyboardEventArgs { Key = "Enter", MetaKey = true }));
    }

    [Fact]
    public async Task AnEmptyPromptIsExplainedAndNothingIsQueued()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        Assert.False(await session.SubmitAsync());
        Assert.Equal("gen.problem.promptRequired", Assert.Single(session.Problems).TextKey);
        Assert.Empty(studio.Get<IJobService>().ListQueue(studio.User.Caller));
    }

    [Fact]
    public async Task ADoubleClickOnGenerateMakesOneJob()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Pipeline.Hold();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "a fox";

        // Both clicks of a double-click, the second while the first may still be on its way, then a third in the same burst.
        var clicks = await Task.WhenAll(session.SubmitAsync(), session.SubmitAsync());
        var third = await session.SubmitAsync();

        Assert.Equal(1, clicks.Count(accepted => accepted));
        Assert.False(third);
        var mine = await studio.Get<IJobService>().ListMineAsync(studio.User.Caller, 20);
        Assert.Single(mine);
        studio.Pipeline.Release();
    }

    [Fact]
    public async Task ProgressFollowsTheNotifierStepByStep()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Pipeline.Hold();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "a fox";
        Assert.True(await session.SubmitAsync());

        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running, Step: >= 1 }], "the job running at step 1");
        var running = session.Jobs[0];
        Assert.Equal(8, running.TotalSteps);
        Assert.StartsWith("data:image/bmp;base64,", running.PreviewDataUrl);

        studio.Pipeline.Release();
        await Eventually.UntilAsync(() => session.Jobs[0].Status == JobStatus.Succeeded, "the job finished");
        Assert.Equal(1.0, session.Jobs[0].Fraction);
    }

    [Fact]
    public async Task CancelStopsMyRunningJob()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Pipeline.Hold();
        var session = studio.Get<GenerateSession>();
        await session.AttachAsync();
        session.Form.Prompt = "a fox";
        await session.SubmitAsync();
        await Eventually.UntilAsync(() => session.Jobs is [{ Status: JobStatus.Running }], "running");

        await session.CancelAsync(session.Jobs[0].Id);

        await Eventually.UntilAsync(() => session.Jobs[0].Status == JobStatus.Cancelled, "cancelled");
        Assert.Empty(session.Results);
    }

    [Fact]
    public async Task ARefusalIsKeptWithTheEnginesReason()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = new string('x', 10_001);
        Assert.False(await session.SubmitAsync());
        Assert.Equal(RefusalKind.Invalid, session.Refusal!.Refusal);
        Assert.Contains("prompt", session.Refusal.Message);
        Assert.Empty(session.Jobs);
    }

    [Fact]
    public async Task DroppingAZImagePngLoadsItsSettings()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        var settings = new ZImage.Engine.Imaging.ImageSettings { Request = new() { Prompt = "海边的灯塔", NegativePrompt = "blur", Width = 1280, Height = 720, Steps = 6, Cfg = 1.5f, Seed = 4242 } };
        var png = ZImage.Engine.Imaging.GenerationPng.Encode(FakePipeline.Noise(32, 18, 1), settings);

        session.LoadDroppedPng(png);

        Assert.Equal("gen.png.loaded", session.DropResultKey);
        var form = session.Form;
        Assert.Equal(("海边的灯塔", "blur", 6, 1.5f), (form.Prompt, form.NegativePrompt, form.Steps, form.Cfg));
        Assert.Equal((1280, 720, SizeMode.Preset), (form.Width, form.Height, form.SizeMode));
        Assert.Equal((SeedMode.Fixed, 4242L), (form.SeedMode, form.FixedSeed!.Value));
    }

    [Fact]
    public async Task DroppingAnAutomatic1111PngLoadsItsTextAndClampsWhatWeCannotDo()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        var text = "a castle\nNegative prompt: fog\nSteps: 80, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 512x770, Model: sdxl";
        var png = ZImage.Engine.Imaging.PngCodec.Encode(FakePipeline.Noise(8, 8, 2), [new ZImage.Engine.Imaging.PngText("parameters", text)]);

        session.LoadDroppedPng(png);

        var form = session.Form;
        Assert.Equal(("a castle", "fog", 50, 7f, 99L), (form.Prompt, form.NegativePrompt, form.Steps, form.Cfg, form.FixedSeed!.Value));
        Assert.Equal((512, 768), (form.Width, form.Height));
    }

    [Fact]
    public async Task DroppingSomethingElseExplainsWithoutChangingTheForm()
    {
        await using var studio = await TestStudio.StartAsync();
        var session = studio.Get<GenerateSession>();
        session.Form.Prompt = "kept";
        session.LoadDroppedPng("GIF89a"u8.ToArray());
        Assert.Equal("gen.png.notPng", session.DropResultKey);
        session.LoadDroppedPng(ZImage.Engine.Imaging.PngCodec.Encode(FakePipeline.Noise(4, 4, 3), []));
        Assert.Equal("gen.png.noSettings", session.DropResultKey);
        Assert.Equal("kept", session.Form.Prompt);
    }

    [Fact]
    public async Task ARefreshedPageReattachesToARunningJob()
    {
        await using var studio = await TestStudio.StartAsync();
        studio.Pipeline.Hold();
        var first = studio.Get<GenerateSession>();
        first.Form.Prompt = "a fox";
        await first.SubmitAsync();

        // A new circuit for the same person: a fresh session object, same name.
        using var second = new GenerateSession(studio.Get<IJobService>(), studio.Get<ZImage.Engine.History.IHistoryService>(), studio.User,
            studio.Get<ZImage.Web.Ui.Settings.NewPictureDefaults>());
        await second.AttachAsync();
        var job = Assert.Single(second.Jobs);
        Assert.True(job.IsActive);
        studio.Pipeline.Release();
        await Eventually.UntilAsync(() => second.Jobs[0].Status == JobStatus.Succeeded && second.Results.Count == 1, "finished in the re-attached session");
    }

    [Fact]
    public async Task AFreshFormStartsFromTheDefaultsSavedInSettingsAndSubmitsThem()
    {
        await using var studio = await TestStudio.StartAsync(settings: new Dictionary<string, string?>
        {
            ["ZImage:Web:Defaults:Steps"] = "5",
            ["ZImage:Web:Defaults:Cfg"] = "3",
            ["ZImage:Web:Defaults:Width"] = "768",
            ["ZImage:Web:Defaults:Height"] = "512",
            ["ZImage:Web:Defaults:Count"] = "2",
            ["ZImage:Web:Defaults:NegativePrompt"] = "blurry",
        });
        var session = studio.Get<GenerateSession>();

        var form = session.Form;
        Assert.Equal((5, 3f, 768, 512, 2, "blurry"), (form.Steps, form.Cfg, form.Width, form.Height, form.Count, form.NegativePrompt));
        form.Prompt = "a fox";
        Assert.True(await session.SubmitAsync());
        var sent = Assert.Single(session.Jobs).Request;
        Assert.Equal((5, 3f, 768, 512, 2, "blurry"), (sent.Steps, sent.Cfg, sent.Width, sent.Height, sent.Count, sent.NegativePrompt));
    }

    [Fact]
    public async Task SavedDefaultsTheEngineRefusesAreIgnoredForTheBuiltInOnes()
    {
        await using var studio = await TestStudio.StartAsync(settings: new Dictionary<string, string?>
        {
            ["ZImage:Web:Defaults:Steps"] = "500",
            ["ZImage:Web:Defaults:Width"] = "wide",
        });

        var form = studio.Get<GenerateSession>().Form;

        Assert.Equal((8, 1024, 1024), (form.Steps, form.Width, form.Height));
    }
}
