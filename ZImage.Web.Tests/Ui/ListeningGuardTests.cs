using Microsoft.Extensions.Configuration;
using ZImage.Web.Ui;

namespace ZImage.Web.Tests.Ui;

public class ListeningGuardTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build();

    [Theory]
    [InlineData("http://localhost:7860")]
    [InlineData("http://127.0.0.1:7860;http://[::1]:7860")]
    public void OpenModeOnLoopbackStarts(string urls) => Assert.Null(ListeningGuard.Check(Config(("urls", urls)), UserMode.Open));

    [Theory]
    [InlineData("http://0.0.0.0:7860")]
    [InlineData("http://*:7860")]
    [InlineData("http://192.168.1.20:7860")]
    [InlineData("http://localhost:7860;http://+:7861")]
    public void OpenModeBeyondLocalhostIsRefusedWithTheWayOut(string urls)
    {
        var refusal = ListeningGuard.Check(Config(("urls", urls)), UserMode.Open);
        Assert.NotNull(refusal);
        Assert.Contains("ZImage:Web:Mode", refusal);
        Assert.Contains("Accounts", refusal);
    }

    [Fact]
    public void PortsSettingBindsEveryInterfaceAndIsRefusedInOpenMode() =>
        Assert.NotNull(ListeningGuard.Check(Config(("http_ports", "7860")), UserMode.Open));

    [Fact]
    public void KestrelEndpointsAreChecked() =>
        Assert.NotNull(ListeningGuard.Check(Config(("Kestrel:Endpoints:Http:Url", "http://0.0.0.0:80")), UserMode.Open));

    [Fact]
    public void AccountsModeMayListenAnywhere() => Assert.Null(ListeningGuard.Check(Config(("urls", "http://0.0.0.0:7860")), UserMode.Accounts));
}
