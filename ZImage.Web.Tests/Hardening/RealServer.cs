using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ZImage.Tools.Load;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// A folder in temp that outlives server processes: the real app (a child process on a free loopback port) is
/// started on it, killed, and started again, as a crash and a restart would.
/// </summary>
public sealed class RealServerFolder : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly List<ServerProcess> _servers = [];

    public RealServerFolder(string? outputDirectory = null, string? modelDirectory = null)
    {
        Root = Directory.CreateTempSubdirectory("zimage-hardening-").FullName;
        Settings = LoadCommand.LocalServerSettings(Root, modelDirectory ?? SelfTestModel);
        if (outputDirectory is not null)
            Settings["ZImage:Jobs:OutputDirectory"] = outputDirectory;
    }

    /// <summary>The complete self-test model the build copies into the test output.</summary>
    public static string SelfTestModel => Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny");

    public string Root { get; }
    public Dictionary<string, string> Settings { get; }

    /// <summary>Environment variables for the server processes (none by default).</summary>
    public Dictionary<string, string> Environment { get; } = [];
    public string DataDirectory => Settings["ZImage:Jobs:DataDirectory"];
    public string OutputDirectory => Settings["ZImage:Jobs:OutputDirectory"];
    public string Database => Path.Combine(DataDirectory, "zimage.db");

    internal async Task<ServerProcess> StartAsync()
    {
        var server = await ServerProcess.StartAsync(Root, Settings, StartTimeout, environment: Environment);
        _servers.Add(server);
        return server;
    }

    internal static HttpClient ClientFor(ServerProcess server, string user)
    {
        var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("X-ZImage-User", user);
        // The pages know a person by the name cookie the name picker writes.
        client.DefaultRequestHeaders.Add("Cookie", $"zi-user={Uri.EscapeDataString(user)}");
        return client;
    }

    /// <summary>Rows straight from the database file, read while or after the server runs (WAL lets readers in).</summary>
    public List<T> Query<T>(string sql, Func<SqliteDataReader, T> read)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var command = c.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
            rows.Add(read(reader));
        return rows;
    }

    /// <summary>Every file under the output folder, relative, with forward slashes.</summary>
    public List<string> OutputFiles() => Directory.Exists(OutputDirectory)
        ? [.. Directory.EnumerateFiles(OutputDirectory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(OutputDirectory, f).Replace('\\', '/')).Order(StringComparer.Ordinal)]
        : [];

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
            await server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class RealServerHttp
{
    public static async Task<JsonElement> SubmitAsync(this HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync("api/v1/jobs", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> JobAsync(this HttpClient client, string id)
    {
        using var response = await client.GetAsync($"api/v1/jobs/{id}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET job {id} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Polls until <paramref name="done"/> holds; the deadline is generous because CI shares two cores.</summary>
    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string id, Func<JsonElement, bool> done, string what)
    {
        var until = DateTime.UtcNow + RealServerFolder.Deadline;
        while (true)
        {
            var job = await client.JobAsync(id);
            if (done(job))
                return job;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"job {id} never became {what}; last: {job}");
            await Task.Delay(25);
        }
    }

    public static string Status(this JsonElement job) => job.GetProperty("status").GetString()!;

    public static int Step(this JsonElement job) =>
        job.GetProperty("progress") is { ValueKind: JsonValueKind.Object } p ? p.GetProperty("step").GetInt32() : 0;

    public static bool IsFinal(this JsonElement job) => job.Status() is "succeeded" or "failed" or "cancelled" or "interrupted";
}
