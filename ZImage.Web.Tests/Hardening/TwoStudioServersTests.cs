using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ZImage.Tools.Load;
using ZImage.Web.Tests.Kit;

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

    /// <summary>
    /// Accounts mode on two studios sharing PostgreSQL, each with its own home folder (as two machines have, so ASP.NET
    /// Core's default key folder differs): a sign-in and a token made on the first work on the second, and a new password
    /// set on the first ends the other sessions and the token on the second at their next request.
    /// </summary>
    [StoreFact]
    public async Task ASignInAndATokenMadeOnOneStudioWorkOnTheOtherUntilThePasswordChangesThere()
    {
        await using var database = await PostgresTestServer.CreateDatabaseAsync();
        await using var first = new RealServerFolder();
        await using var second = new RealServerFolder();
        foreach (var folder in new[] { first, second })
        {
            folder.Settings["ZImage:Web:Mode"] = "Accounts";
            folder.Settings["ZImage:Store:Provider"] = "PostgreSql";
            folder.Settings["ZImage:Store:ConnectionString"] = database.ConnectionString;
            folder.Settings["ZImage:Store:SharedPictureFolder"] = Path.Combine(first.Root, "shared-pictures");
            folder.Environment["HOME"] = folder.Root;
        }
        var servers = await Task.WhenAll(first.StartAsync(), second.StartAsync());
        string firstToken;
        await using (var store = new ZImage.Engine.Jobs.PostgresJobStore(database.ConnectionString, first.Root))
        {
            var people = await StorePeople<ZImage.Engine.Jobs.PostgresJobStore>.OpenAsync(store);
            Assert.Empty(await people.Accounts.CreateAsync("Lin", AccountsStudioFactory.Password, isAdmin: true));
            firstToken = (await people.Tokens.CreateAsync("Lin", "setup", isAdmin: true)).Secret;
        }

        // One browser that visits both studios (cookies do not depend on the port), and a second browser signed in on B.
        var jar = new CookieContainer();
        using var onA = Browser(servers[0], jar);
        using var onB = Browser(servers[1], jar);
        using var otherOnB = Browser(servers[1], new CookieContainer());
        Assert.Equal(HttpStatusCode.Redirect, (await AccountsStudioFactory.SignInAsync(onA, "Lin", AccountsStudioFactory.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountsStudioFactory.SignInAsync(otherOnB, "lin", AccountsStudioFactory.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/history")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await otherOnB.GetAsync("/history")).StatusCode);

        // A token made by A (asked for with the first one).
        using var scriptOnA = new HttpClient { BaseAddress = servers[0].BaseAddress };
        scriptOnA.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", firstToken);
        using var made = await scriptOnA.PostAsJsonAsync("/api/v1/tokens", new { name = "made on A" });
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        var secret = (await made.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        using var tokenOnB = new HttpClient { BaseAddress = servers[1].BaseAddress };
        tokenOnB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        var me = await tokenOnB.GetFromJsonAsync<JsonElement>("/api/v1/me");
        Assert.Equal("Lin", me.GetProperty("user").GetString());

        // A new password, set on A.
        var form = new Dictionary<string, string>
        {
            ["current"] = AccountsStudioFactory.Password, ["password"] = "another long password", ["confirm"] = "another long password",
            ["__RequestVerificationToken"] = await AccountsStudioFactory.AntiforgeryTokenAsync(onA),
        };
        using (var changed = await onA.PostAsync("/ui/password", new FormUrlEncodedContent(form)))
            Assert.Equal("/settings?password=changed", changed.Headers.Location!.ToString());

        // B refuses the other browser's cookie and the token; the browser that changed it got a fresh cookie that B reads.
        using (var refused = await otherOnB.GetAsync("/history"))
        {
            Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
            Assert.StartsWith("/signin", refused.Headers.Location!.PathAndQuery);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await tokenOnB.GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/history")).StatusCode);
    }

    private static HttpClient Browser(ServerProcess server, CookieContainer jar) =>
        new(new HttpClientHandler { CookieContainer = jar, AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
}
