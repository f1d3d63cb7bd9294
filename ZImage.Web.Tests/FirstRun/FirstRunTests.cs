using Microsoft.Extensions.Configuration;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Components;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.FirstRun;

/// <summary>What a newcomer meets on a fresh clone: the self-test model, a broken folder, where data goes.</summary>
public sealed class FirstRunTests : IDisposable
{
    private static readonly string BuiltSelfTest = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");
    private readonly string _root = Directory.CreateTempSubdirectory("zimage-first-run-").FullName;

    /// <summary>A clone's layout: the committed self-test model without its git-ignored tokenizer.json.</summary>
    private string CloneWithIncompleteSelfTest()
    {
        var clone = Path.Combine(_root, "clone");
        TestFolders.CopyFolder(BuiltSelfTest, Path.Combine(clone, "models", "self-test-tiny"));
        File.Delete(Path.Combine(clone, "models", "self-test-tiny", "tokenizer", "tokenizer.json"));
        Directory.CreateDirectory(Path.Combine(clone, "ZImage.Web"));
        return clone;
    }

    [Fact]
    public void TheSelfTestButtonOffersTheAppsCompleteCopyNotTheClonesIncompleteOne()
    {
        var clone = CloneWithIncompleteSelfTest();
        var paths = new StudioPaths(new ConfigurationBuilder().Build(), Path.Combine(clone, "ZImage.Web"), appBase: AppContext.BaseDirectory);

        var offered = paths.SelfTestModelDirectory();

        Assert.Equal(Path.GetFullPath(BuiltSelfTest), offered);
        Assert.Equal(ModelFolderState.Ready, ModelFolderCheck.Run(offered).State);
    }

    [Fact]
    public void WithOnlyTheIncompleteCopyNothingIsOfferedRatherThanAFolderThatFails()
    {
        var clone = CloneWithIncompleteSelfTest();
        var paths = new StudioPaths(new ConfigurationBuilder().Build(), Path.Combine(clone, "ZImage.Web"), appBase: Path.Combine(_root, "empty-app"));

        Assert.Null(paths.SelfTestModelDirectory());
    }

    [Fact]
    public async Task SettingsRefusesToSaveAModelFolderThatFailsItsCheckAndNamesTheProblem()
    {
        var clone = CloneWithIncompleteSelfTest();
        var config = new ConfigurationManager();
        config.AddInMemoryCollection(new Dictionary<string, string?> { ["ZImage:Jobs:DataDirectory"] = Path.Combine(_root, "data") });
        var paths = new StudioPaths(config, _root);
        var store = new SettingsStore(config, paths);
        var form = store.Load();
        form.ModelDirectory = Path.Combine(clone, "models", "self-test-tiny");

        var problem = Assert.Single(await store.SaveAsync(form));

        Assert.Equal(("ModelDirectory", "settings.problem.modelUnusable"), (problem.Field, problem.TextKey));
        Assert.False(File.Exists(paths.SettingsFile()));
        var english = new Localizer();
        Assert.Equal("Model folder: this folder cannot be used as the model: tokenizer/tokenizer.json is missing.", problem.Text(english));
        var chinese = new Localizer();
        chinese.SetLanguage(UiLanguage.Chinese);
        Assert.Contains("缺少 tokenizer/tokenizer.json", problem.Text(chinese));

        form.ModelDirectory = BuiltSelfTest;
        Assert.Empty(await store.SaveAsync(form));
    }

    [Fact]
    public async Task GenerateSaysTheModelCannotBeUsedAndDisablesTheButtonInsteadOfTheSelfTestBanner()
    {
        var clone = CloneWithIncompleteSelfTest();
        await using var studio = await TestStudio.StartAsync(model: ModelState.Error,
            settings: new Dictionary<string, string?> { ["ZImage:Engine:ModelDirectory"] = Path.Combine(clone, "models", "self-test-tiny") });

        var html = ComponentTests.Decoded(await studio.RenderAsync<Generate>());

        Assert.Contains("id=\"model-unusable\"", html);
        Assert.Contains("The model can't be used — fix it in Settings", html);
        Assert.Contains("tokenizer/tokenizer.json is missing.", html);
        Assert.DoesNotContain("id=\"self-test-model\"", html);
        Assert.Matches("<button[^>]*id=\"generate\"[^>]*disabled|<button[^>]*disabled[^>]*id=\"generate\"", html);

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var zh = ComponentTests.Decoded(await studio.RenderAsync<Generate>());
        Assert.Contains("模型无法使用——请在设置中修复", zh);
        Assert.Contains("缺少 tokenizer/tokenizer.json。", zh);
    }

    [Fact]
    public async Task APersonWhoIsNotAnAdministratorNeverSeesTheServersModelPath()
    {
        var missing = Path.Combine(_root, "server-only", "z-image-turbo");
        await using var studio = await TestStudio.StartAsync(model: ModelState.Error, isAdmin: false,
            settings: new Dictionary<string, string?> { ["ZImage:Engine:ModelDirectory"] = missing, ["ZImage:Web:Mode"] = "Accounts" });

        var html = ComponentTests.Decoded(await studio.RenderAsync<Generate>());

        Assert.Contains("id=\"model-unusable\"", html);
        Assert.Contains("The folder does not exist.", html);
        Assert.Contains("Ask an administrator", html);
        Assert.DoesNotContain(missing, html);
        Assert.DoesNotContain("server-only", html);
    }

    [Fact]
    public async Task TheStatusBarAndAFailedJobSayItInThePagesLanguageWithoutThePathForNonAdministrators()
    {
        var missing = Path.Combine(_root, "server-only", "z-image-turbo");
        await using var studio = await TestStudio.StartAsync(model: ModelState.Error, isAdmin: false, modelDetail: $"the folder {missing} does not exist",
            settings: new Dictionary<string, string?> { ["ZImage:Engine:ModelDirectory"] = missing, ["ZImage:Web:Mode"] = "Accounts" });
        var failed = new JobView("j1", JobStatus.Failed, new GenerationRequest { Prompt = "p" }, DateTimeOffset.Now,
            Error: $"{ZImage.Engine.Models.ModelEntry.UnusablePrefix}the model folder does not exist. An administrator can fix it in Settings.");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);

        var status = ComponentTests.Decoded(await studio.RenderAsync<ZImage.Web.Components.Layout.StatusBar>());
        var card = ComponentTests.Decoded(await studio.RenderAsync<ZImage.Web.Components.Shared.JobProgressCard>(new Dictionary<string, object?> { ["Job"] = failed }));

        Assert.Contains("· 文件夹不存在。", status);
        Assert.DoesNotContain("server-only", status);
        Assert.Contains("模型无法使用——请在设置中修复", card);
        Assert.DoesNotContain("The model can't be used", card);
    }

    [Fact]
    public void DataAndPicturesGoToOneFolderThatTheCloneIgnores()
    {
        var options = new JobsOptions();
        Assert.Equal("data", options.DataDirectory);
        Assert.StartsWith(options.DataDirectory + "/", options.OutputDirectory);
        Assert.Equal(options.OutputDirectory, new SettingsForm().OutputDirectory);
        // dotnet run --project ZImage.Web runs with ZImage.Web/ as its content root: that data folder is ignored.
        var gitignore = File.ReadAllLines(Path.Combine(TestFolders.RepositoryRoot()!, ".gitignore"));
        Assert.Contains("/ZImage.Web/data/", gitignore);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
