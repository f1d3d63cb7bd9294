using System.Reflection;
using ZImage.Tools;
using ZImage.Web.Operator;

namespace ZImage.Web.Tests.Operator;

/// <summary>
/// The production server carries the studio and the operator's two command words, nothing else: benchmarks, the load
/// driver, the scale-out worker and the diagnostics live in ZImage.Tools (docs/architecture.md).
/// </summary>
public sealed class ServerAssemblyTests
{
    private static readonly Assembly Server = typeof(OperatorCommands).Assembly;
    private static readonly string[] OperatorWords = ["install-model", "migrate-store"];

    [Fact]
    public void TheServerAssemblyHasNoCommandNamespaceOutsideTheOperatorsOne()
    {
        var misplaced = Server.GetTypes()
            .Where(t => t.Namespace is { } ns && (ns.Contains(".Cli", StringComparison.Ordinal) || ns.StartsWith("ZImage.Tools", StringComparison.Ordinal)))
            .Select(t => t.FullName)
            .ToList();
        Assert.Empty(misplaced);
    }

    [Fact]
    public void EveryCommandTypeInTheServerIsOneOfTheOperatorsWords()
    {
        var commands = Server.GetTypes()
            .Where(t => t.Name.EndsWith("Command", StringComparison.Ordinal) && !t.IsNested)
            .Select(t => t.FullName)
            .Order()
            .ToList();
        Assert.Equal(["ZImage.Web.Operator.InstallModelCommand", "ZImage.Web.Operator.MigrateStoreCommand"], commands);
        Assert.All(OperatorWords, word => Assert.NotNull(OperatorCommands.TryGet(word)));
    }

    [Fact]
    public void TheServerKnowsNoToolWordAndDoesNotReferenceTheTools()
    {
        Assert.All(ToolCommands.All.Keys, word => Assert.Null(OperatorCommands.TryGet(word)));
        Assert.DoesNotContain(Server.GetReferencedAssemblies(), a => a.Name == "ZImage.Tools");
        Assert.DoesNotContain(Server.GetTypes(), t => typeof(ZImage.Engine.Pipeline.IImagePipeline).IsAssignableFrom(t) && t.IsClass);
    }
}
