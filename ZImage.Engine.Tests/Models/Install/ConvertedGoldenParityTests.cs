using ZImage.Engine.Models.Install;
using ZImage.Engine.Tests.Pipeline;

namespace ZImage.Engine.Tests.Models.Install;

/// <summary>The tiny checkpoint converted by the installer, in a fresh folder, run through the pipeline.</summary>
public sealed class ConvertedTinyModelFixture : GoldenFixture
{
    public ConvertedTinyModelFixture()
        : base(Convert(out var root))
    {
        _tempRoot = root;
    }

    private readonly string _tempRoot;

    public override void Dispose()
    {
        base.Dispose();
        System.IO.Directory.Delete(_tempRoot, recursive: true);
    }

    private static string Convert(out string root)
    {
        root = System.IO.Directory.CreateTempSubdirectory("zimage-converted-golden-").FullName;
        var checkpoint = TinyCheckpoint.CopyWithTokenizer(Path.Combine(root, "tiny-checkpoint"));
        var model = Path.Combine(root, "model");
        new CheckpointConverter().ConvertAsync(checkpoint, model, new ConvertOptions(WeightDtype.Fp32, WeightDtype.Fp32), null, CancellationToken.None)
            .GetAwaiter().GetResult();
        return model;
    }
}

/// <summary>Every golden check (token ids, caption features, each sampler step, the picture) on the converted folder.</summary>
public sealed class ConvertedGoldenParityTests(ConvertedTinyModelFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
    : GoldenParityChecks<ConvertedTinyModelFixture>(fixture, output), IClassFixture<ConvertedTinyModelFixture>;
