using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Components.Shared;
using ZImage.Web.Tests.Kit;
using ZImage.Web.Ui.Generate;
using ZImage.Web.Ui.I18n;

namespace ZImage.Web.Tests.Components;

/// <summary>The running job's large preview and its pictures, in Chinese: no English caption, label or title.</summary>
public partial class ComponentTests
{
    [Fact]
    public async Task TheLiveResultReadsInChinese()
    {
        await using var studio = await TestStudio.StartAsync(userName: "林薇");
        studio.Localizer.SetLanguage(UiLanguage.Chinese);
        var job = new JobView("j1", JobStatus.Running, new GenerationRequest { Prompt = "雪中的狐狸", Width = 1280, Height = 720, Count = 4 },
            DateTimeOffset.Now, ImageIndex: 1, ImageCount: 4, Step: 3, TotalSteps: 8, PreviewDataUrl: "data:image/bmp;base64,AAAA")
        {
            ImageIds = [7],
        };

        var html = await studio.RenderAsync<LiveResult>(new Dictionary<string, object?> { ["Job"] = job });

        Assert.Contains("第 2/4 张 · 第 3/8 步", Decoded(html));
        Assert.Contains("alt=\"第 1/4 张\"", Decoded(html));
        Assert.Contains("title=\"第 3 张：尚未生成\"", Decoded(html));
        AssertNoEnglish(html, "live result");
    }
}
