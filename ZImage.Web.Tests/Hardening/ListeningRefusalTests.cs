using ZImage.Tools.Load;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// Issue #15 item 4 and #18: the "no open mode beyond loopback" rule holds whichever source says what, data/settings.json
/// included (it is read after the command line and wins over it), and the refusal is a sentence and an exit code.
/// </summary>
public sealed class ListeningRefusalTests
{
    [Theory]
    [InlineData("""{ "Urls": "http://0.0.0.0:0" }""", null)]
    [InlineData("""{ "Kestrel": { "Endpoints": { "All": { "Url": "http://0.0.0.0:0" } } } }""", null)]
    [InlineData("""{ "ZImage": { "Web": { "Mode": "Open" } } }""", "http://0.0.0.0:0")]
    public async Task TheSettingsFileCannotOpenTheStudioBeyondLoopback(string settingsJson, string? urls)
    {
        await using var folder = new RealServerFolder();
        Directory.CreateDirectory(folder.DataDirectory);
        await File.WriteAllTextAsync(Path.Combine(folder.DataDirectory, StudioPaths.SettingsFileName), settingsJson);
        if (urls is not null)
            folder.Settings["ZImage:Web:Mode"] = "Accounts"; // the command line asks for accounts; the file says open.
        await using var server = await ServerProcess.StartAsync(folder.Root, folder.Settings, RealServerFolder.StartTimeout,
            urls ?? "http://127.0.0.1:0", waitUntilListening: false);
        var exit = await server.WaitForExitAsync(RealServerFolder.StartTimeout);

        Assert.Equal(2, exit);
        Assert.Contains("ZImage:Web:Mode is 'Open'", server.Tail);
        Assert.Contains("0.0.0.0", server.Tail);
        Assert.DoesNotContain("Now listening", server.Tail);
        Assert.DoesNotContain("Exception", server.Tail);
        Assert.DoesNotContain("   at ", server.Tail);
    }
}

public sealed class SetupCodeConsoleTests
{
    [Fact]
    public async Task AccountsModeWithNobodyYetPrintsTheOneTimeSetupCodeOnTheConsole()
    {
        await using var folder = new RealServerFolder();
        folder.Settings["ZImage:Web:Mode"] = "Accounts";
        await using var server = await folder.StartAsync();
        var line = server.Tail.Split('\n').SingleOrDefault(l => l.Contains("One-time setup code", StringComparison.Ordinal));
        Assert.True(line is not null, $"no setup code on the console:\n{server.Tail}");
        Assert.Matches("[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", line);
    }
}
