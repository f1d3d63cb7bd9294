using Bunit;
using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Components.Layout;
using ZImage.Web.Components.Pages;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>
/// The people-facing choices: taking a name someone already uses, sharing one's pictures with the team, unstarring a
/// selection, and the About panel, in English and in Chinese.
/// </summary>
public sealed partial class PeopleTests
{
    private static readonly Dictionary<string, string?> AccountsMode = new() { ["ZImage:Web:Mode"] = "Accounts" };

    [Fact]
    public async Task TakingANameSomeoneAlreadyUsesAsksFirstAndChoosingAnotherKeepsTheOldName()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Newcomer");
        await MakePictureAsync(studio, new Caller("Lin"), "lin's teapot");
        await using var bunit = studio.Bunit();
        var picker = bunit.Render<NamePicker>();

        Ask(picker, "lin");

        var warning = picker.WaitForElement("#name-taken");
        Assert.Equal("alertdialog", warning.GetAttribute("role"));
        Assert.Contains("Someone already uses the name “lin” here", warning.TextContent);
        Assert.Contains("delete their pictures", warning.TextContent);
        Assert.Empty(picker.FindAll("#name-continue"));
        Assert.Equal("Newcomer", studio.User.Name);

        picker.Find("#name-taken-no").Click();
        Assert.Empty(picker.FindAll("#name-taken"));
        Assert.Equal("", picker.Find("#display-name").GetAttribute("value") ?? "");
        Assert.Equal("Newcomer", studio.User.Name);

        // A name nobody uses goes straight through.
        Ask(picker, "Mei");
        picker.WaitForAssertion(() => Assert.Equal("Mei", studio.User.Name));
        Assert.Empty(picker.FindAll("#name-taken"));
    }

    [Fact]
    public async Task EditingTheNameWithdrawsTheWarningAndConfirmingItMakesThisPersonThatName()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Newcomer");
        await MakePictureAsync(studio, new Caller("Lin"), "lin's teapot");
        await using var bunit = studio.Bunit();
        var picker = bunit.Render<NamePicker>();

        Ask(picker, "Lin");
        picker.WaitForElement("#name-taken");
        picker.Find("#display-name").Input("Lin Wei");
        Assert.Empty(picker.FindAll("#name-taken"));
        Assert.NotNull(picker.Find("#name-continue"));

        Ask(picker, "Lin");
        picker.WaitForElement("#name-taken-yes").Click();

        picker.WaitForAssertion(() => Assert.Equal("Lin", studio.User.Name));
    }

    [Fact]
    public async Task ChangingTheCaseOfOnesOwnNameFromTheChipIsNotATakenName()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin");
        await MakePictureAsync(studio, studio.User.Caller, "my teapot");
        await using var bunit = studio.Bunit();
        var picker = bunit.Render<NamePicker>(p => p.Add(n => n.Current, "Lin"));

        Ask(picker, "LIN");

        picker.WaitForAssertion(() => Assert.Equal("LIN", studio.User.Name));
        Assert.Empty(picker.FindAll("#name-taken"));
    }

    [Fact]
    public async Task TheSharingSwitchIsOnInAnOpenStudioAndTurningItOffIsStoredForThePerson()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin");
        await using var bunit = studio.Bunit();
        var sharing = bunit.Render<SharingSwitch>();

        var box = sharing.WaitForElement("#share-pictures");
        Assert.True(box.HasAttribute("checked"));
        Assert.Contains("Others see your pictures", sharing.Find("#share-pictures-hint").TextContent);

        box.Change(false);

        await Eventually.UntilAsync(() => !studio.Get<IHistoryService>().SharesAsync(studio.User.Caller).Result, "the choice stored");
        sharing.WaitForAssertion(() => Assert.False(sharing.Find("#share-pictures").HasAttribute("checked")));
        Assert.Contains("Only you see your pictures", sharing.Find("#share-pictures-hint").TextContent);
    }

    [Fact]
    public async Task WithSignInTheSwitchStartsOff()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin", settings: AccountsMode);
        await using var bunit = studio.Bunit();
        var sharing = bunit.Render<SharingSwitch>();

        Assert.False(sharing.WaitForElement("#share-pictures").HasAttribute("checked"));
    }

    [Fact]
    public async Task HistoryEveryoneListsAnotherPersonsPicturesOnlyWhileTheyShare()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin");
        var history = studio.Get<IHistoryService>();
        var mine = await MakePictureAsync(studio, studio.User.Caller, "my teapot");
        var theirs = await MakePictureAsync(studio, new Caller("Kai", SharesByDefault: true), "kai's kettle");
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();
        page.WaitForElement("#owner-everyone").Click();

        page.WaitForAssertion(() => Assert.NotNull(page.Find($"[data-image='{theirs}']")));
        Assert.NotNull(page.Find($"[data-image='{mine}']"));

        await history.SetSharingAsync(new Caller("Kai"), shares: false);
        page.Find("#owner-mine").Click();
        page.Find("#owner-everyone").Click();

        page.WaitForAssertion(() => Assert.Empty(page.FindAll($"[data-image='{theirs}']")));
        Assert.NotNull(page.Find($"[data-image='{mine}']"));
    }

    [Fact]
    public async Task ThePromptOfSomeoneWhoStopsSharingLeavesTheQueueOnAnotherPersonsOpenPageAtOnce()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Lin");
        studio.Pipeline.Hold();
        var jobs = studio.Get<IJobService>();
        var history = studio.Get<IHistoryService>();
        var kai = new Caller("Kai", SharesByDefault: true);
        await history.SetSharingAsync(kai, shares: true);
        var job = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = "kai's kettle", Width = 256, Height = 256, Steps = 2 } }, kai)).Job!;
        await Eventually.UntilAsync(() => jobs.GetAsync(job.Id, kai).Result?.Status == JobStatus.Running, "kai's job to start");
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Generate>();
        page.WaitForAssertion(() => Assert.Contains("kai's kettle", page.Find("#queue .zi-queue-shared").TextContent));

        await history.SetSharingAsync(kai, shares: false);

        // No job moved meanwhile: the page draws the queue again because the choice changed.
        page.WaitForAssertion(() => Assert.Empty(page.FindAll("#queue .zi-queue-shared")));
        Assert.DoesNotContain("kai's kettle", page.Find("#queue").TextContent);
        await history.SetSharingAsync(kai, shares: true);
        page.WaitForAssertion(() => Assert.Contains("kai's kettle", page.Find("#queue .zi-queue-shared").TextContent));
        studio.Pipeline.Release();
    }

    [Fact]
    public async Task RemovingFavouritesInBulkTouchesExactlyTheSelectedPictures()
    {
        await using var studio = await TestStudio.StartAsync();
        var history = studio.Get<IHistoryService>();
        var first = await MakePictureAsync(studio, studio.User.Caller, "a plum");
        var second = await MakePictureAsync(studio, studio.User.Caller, "a pear");
        await history.SetFavouriteAsync(first, true, studio.User.Caller);
        await history.SetFavouriteAsync(second, true, studio.User.Caller);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<History>();

        page.WaitForElement($"[data-image='{second}'] .zi-tile-check input").Change(true);
        page.WaitForElement("#unfavourite-selected").Click();

        await Eventually.UntilAsync(() => history.GetImageAsync(second).Result?.Favourite == false, "selected pictures no longer favourites");
        Assert.True((await history.GetImageAsync(first))!.Favourite);
    }

    [Fact]
    public async Task TheAboutPanelNamesTheBuildTheModelTheRuntimeTheGraphicsCardAndDotNet()
    {
        await using var studio = await TestStudio.StartAsync(settings: SelfTestModel());
        await using var bunit = studio.Bunit();
        var about = bunit.Render<AboutPanel>();

        Assert.Matches(@"^ZImage \d+\.\d+", about.Find("#about-version").TextContent.Trim());
        var model = about.Find("#about-model").TextContent;
        Assert.Contains("self-test-tiny", model);
        Assert.Contains("Precision: fp32", model);
        // Open mode: the person manages the studio, so the server folder is shown.
        Assert.EndsWith(Path.Combine("models", "self-test-tiny"), about.Find("#about-model-folder").TextContent.Trim());
        var runtime = about.Find("#about-runtime").TextContent;
        Assert.Matches(@"ONNX Runtime 1\.\d+", runtime);
        Assert.Contains("Runs on CPU", runtime);
        Assert.Contains("Test GPU", about.Find("#about-gpu").TextContent);
        Assert.Matches(@"GB memory", about.Find("#about-gpu").TextContent);
        Assert.Contains(".NET 10", about.Find("#about-dotnet").TextContent);
    }

    [Fact]
    public async Task WithSignInOnlyAdministratorsSeeTheModelsFolderInAbout()
    {
        var settings = new Dictionary<string, string?>(SelfTestModel()) { ["ZImage:Web:Mode"] = "Accounts" };
        await using var member = await TestStudio.StartAsync(settings: settings);
        await using (var bunit = member.Bunit())
        {
            var about = bunit.Render<AboutPanel>();
            Assert.Contains("self-test-tiny", about.Find("#about-model").TextContent);
            Assert.Empty(about.FindAll("#about-model-folder"));
        }
        await using var admin = await TestStudio.StartAsync(settings: settings, isAdmin: true);
        await using (var bunit = admin.Bunit())
            Assert.NotNull(bunit.Render<AboutPanel>().Find("#about-model-folder"));
    }

    private static void Ask(IRenderedComponent<NamePicker> picker, string name)
    {
        picker.Find("#display-name").Input(name);
        picker.Find("form").Submit();
    }

    private static Dictionary<string, string?> SelfTestModel() => new()
    {
        ["ZImage:Engine:ModelDirectory"] = Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny"),
        ["ZImage:Engine:Provider"] = "Cpu",
    };

    /// <summary>One finished picture by <paramref name="who"/>; its id.</summary>
    internal static async Task<long> MakePictureAsync(TestStudio studio, Caller who, string prompt)
    {
        var jobs = studio.Get<IJobService>();
        var submitted = (await jobs.SubmitAsync(new JobRequest { Settings = new() { Prompt = prompt, Width = 256, Height = 256, Steps = 1 } }, who)).Job!;
        await Eventually.UntilAsync(() => jobs.GetAsync(submitted.Id, who).Result?.Status == JobStatus.Succeeded, "job done");
        return (await jobs.GetAsync(submitted.Id, who))!.ImageIds[0];
    }
}
