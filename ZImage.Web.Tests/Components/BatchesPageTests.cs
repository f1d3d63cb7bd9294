using Bunit;
using ZImage.Engine.Jobs.Batches;
using ZImage.Web.Components.Pages;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Batches;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>The batch page (MudBlazor) clicked through with bUnit on the studio's services and the fake pipeline.</summary>
public sealed class BatchesPageTests
{
    [Fact]
    public async Task AFailedLineIsSaidInChineseAndTheEnginesSentenceWaitsBehindDetails()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Mei");
        studio.Pipeline.FailWith = r => r.Prompt.StartsWith("broken", StringComparison.Ordinal) ? new InvalidOperationException("tensor shape mismatch") : null;
        var (items, problems) = studio.Get<BatchBuilder>().Build(new BatchOrder { List = "a teapot\nbroken lamp\n" });
        Assert.Empty(problems);
        var batch = (await studio.Get<IBatchService>().SubmitAsync("two lines", items, studio.User.Caller)).Batch!;
        await Eventually.UntilAsync(() => studio.Get<IBatchService>().GetAsync(batch.Id, studio.User.Caller).Result?.Status == BatchStatus.Finished, "the batch to end");

        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Batches>();
        var card = page.WaitForElement($"[data-batch='{batch.Id}']");

        Assert.Equal("finished", card.GetAttribute("data-status"));
        Assert.Contains("完成 1，失败 1", card.QuerySelector(".batch-counts")!.TextContent);
        var failure = card.QuerySelector(".zi-batch-failures li")!.TextContent;
        Assert.StartsWith("第 2 行：", failure);
        Assert.DoesNotContain("tensor", failure);
        // Open mode: everyone may manage the studio, so the engine's words are there, closed, marked as English.
        var detail = card.QuerySelector(".zi-engine-detail-text")!;
        Assert.Equal("en", detail.GetAttribute("lang"));
        Assert.Contains("tensor shape mismatch", detail.TextContent);
    }

    [Fact]
    public async Task AFileOverTheLimitIsRefusedWithItsNameAndTheListIsKept()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Mei");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Batches>();
        page.Find("textarea#batch-list").Input("a kept prompt");

        page.FindComponent<Microsoft.AspNetCore.Components.Forms.InputFile>()
            .UploadFiles(InputFileContent.CreateFromBinary(new byte[3 * 1024 * 1024], "huge.txt"));

        page.WaitForAssertion(() => Assert.Contains("huge.txt 超过 2 MB", page.Find("#batch-upload-note").TextContent));
        Assert.Equal("a kept prompt", page.Find("textarea#batch-list").GetAttribute("value"));
    }

    [Fact]
    public async Task AnUnnamedBatchIsNamedByItsJobCountInTheRightNumber()
    {
        await using var studio = await TestStudio.StartAsync(userName: "Mei");
        await using var bunit = studio.Bunit();
        var page = bunit.Render<Batches>();
        page.Find("textarea#batch-list").Input("a single teapot");
        page.Find("#batch-start").Click();
        page.WaitForAssertion(() => Assert.Equal("1 job", page.Find("#batch-table .batch-name").TextContent));

        page.Find("textarea#batch-list").Input("a teapot\na kettle");
        page.Find("#batch-start").Click();
        page.WaitForAssertion(() => Assert.Equal("2 jobs", page.Find("#batch-table .batch-name").TextContent));
    }
}
