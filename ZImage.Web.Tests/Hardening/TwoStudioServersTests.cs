using System.Text.Json;
using ZImage.Tools.Load;

namespace ZImage.Web.Tests.Hardening;

/// <summary>The real app twice (child processes, the self-test model on the CPU) on one PostgreSQL database and picture folder.</summary>
[NeedsPostgres]
public sealed class TwoStudioServersTests
{
    [StoreFact]
    public async Task ASecondStudioServerSeesAndServesThePicturesOfAJobSubmittedToTheFirst()
    {
        await using var database = await PostgresTestServer.CreateDatabaseAsync();
        await using var first = new RealServerFolder();
        await using var second = new RealServerFolder();
        string pictures = Path.Combine(first.Root, "shared-pictures");
        foreach (var folder in new[] { first, second })
        {
            folder.Settings["ZImage:Store:Provider"] = "PostgreSql";
            folder.Settings["ZImage:Store:ConnectionString"] = database.ConnectionString;
            folder.Settings["ZImage:Store:SharedPictureFolder"] = pictures;
        }
        var servers = await Task.WhenAll(first.StartAsync(), second.StartAsync());
        using var toFirst = RealServerFolder.ClientFor(servers[0], "ann");
        using var toSecond = RealServerFolder.ClientFor(servers[1], "ann");

        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
            ids.Add((await toFirst.SubmitAsync(new { prompt = $"harbour {i}", width = 256, height = 256, steps = 2, count = 1 })).GetProperty("id").GetString()!);

        foreach (var id in ids)
        {
            var done = await toSecond.WaitForJobAsync(id, j => j.IsFinal(), "final on the second server");
            Assert.Equal("succeeded", done.Status());
            long image = done.GetProperty("images")[0].GetProperty("id").GetInt64();
            using var png = await toSecond.GetAsync($"api/v1/images/{image}");
            Assert.True(png.IsSuccessStatusCode, $"the second server could not serve picture {image}: {(int)png.StatusCode}");
            Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(3, Directory.EnumerateFiles(pictures, "*.png", SearchOption.TopDirectoryOnly).Count()
            + Directory.EnumerateDirectories(pictures).Sum(d => Directory.EnumerateFiles(d, "*.png").Count()));
    }
}
