using System.Reflection;
using System.Text.Json;
using ZImage.Engine.Text;

namespace ZImage.Engine.Tests.Text;

/// <summary>The real Qwen3 tokenizer.json fetched by build/Qwen3Tokenizer.targets, loaded once for all tokenizer tests.</summary>
public static class Qwen3TokenizerFixture
{
    private static readonly Lazy<Qwen3Tokenizer> Shared = new(() => Qwen3Tokenizer.Load(TokenizerJsonPath));

    public static Qwen3Tokenizer Tokenizer => Shared.Value;

    public static string TokenizerJsonPath =>
        typeof(Qwen3TokenizerFixture).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Qwen3TokenizerJson").Value!;

    public static string GoldenFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizer");

    public static IEnumerable<string> GoldenFiles =>
        Directory.EnumerateFiles(GoldenFolder, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    public static Golden ReadGolden(string fileName) =>
        JsonSerializer.Deserialize<Golden>(File.ReadAllText(Path.Combine(GoldenFolder, fileName)), new JsonSerializerOptions(JsonSerializerDefaults.Web))
        ?? throw new InvalidDataException($"{fileName} is empty.");

    public sealed record Golden(string Tokenizer, List<GoldenCase> Cases);

    public sealed record GoldenCase(string Text, int[] Ids);
}
