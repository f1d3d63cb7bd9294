using System.Text.Json;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine.Tests.Pipeline;

/// <summary>
/// The tiny model (models/self-test-tiny, placed beside the tests by the build with the real Qwen3 tokenizer) and
/// the reference outputs made from it by the official PyTorch code on the GPU machine
/// (Fixtures/golden-tiny, written by tools/export/golden.py; format in its index.json).
/// </summary>
public class GoldenFixture : IDisposable
{
    public GoldenFixture()
        : this(Path.Combine(AppContext.BaseDirectory, "models", "self-test-tiny"))
    {
    }

    /// <summary>The same golden outputs from another folder holding the tiny model (e.g. one the installer wrote).</summary>
    protected GoldenFixture(string modelDirectory)
    {
        Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "golden-tiny");
        Index = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "index.json")));
        ModelDirectory = modelDirectory;
        Model = ModelFolder.Open(ModelDirectory);
        Runtime = OrtRuntime.Load();
        Pipeline = new ZImagePipeline(Model, Runtime, new InferenceSessionOptions { Provider = ExecutionProvider.Cpu });
    }

    public string Directory { get; }
    public JsonDocument Index { get; }
    public string ModelDirectory { get; }
    public ModelFolder Model { get; }
    public OrtRuntime Runtime { get; }
    public ZImagePipeline Pipeline { get; }

    public JsonElement Root => Index.RootElement;

    public JsonElement Run(string name) => Root.GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("name").GetString() == name);

    /// <summary>Reads a stored array ({"file", "shape", "dtype"}) as float32.</summary>
    public float[] Floats(JsonElement entry)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Directory, entry.GetProperty("file").GetString()!));
        Assert.Equal("float32", entry.GetProperty("dtype").GetString());
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    /// <summary>Runs a golden run through the pipeline with the stored noise; returns the latent after every step and the result.</summary>
    public (List<float[]> Latents, GenerationResult Result) RunRecordingSteps(JsonElement run)
    {
        var request = new GenerationRequest
        {
            Prompt = run.GetProperty("prompt_text").GetString()!,
            NegativePrompt = run.GetProperty("negative_prompt").ValueKind == JsonValueKind.String ? run.GetProperty("negative_prompt").GetString()! : "",
            Width = run.GetProperty("width").GetInt32(),
            Height = run.GetProperty("height").GetInt32(),
            Steps = run.GetProperty("steps").GetInt32(),
            Cfg = run.GetProperty("guidance_scale").GetSingle(),
            CfgTruncation = run.GetProperty("cfg_truncation").GetSingle(),
            CfgNormalization = run.GetProperty("cfg_normalization").GetSingle(),
            Seed = 42,
        };
        var noise = Floats(run.GetProperty("noise"));
        var latents = new List<float[]>();
        Pipeline.StepObserver = (_, _, latent) => latents.Add((float[])latent.Clone());
        try
        {
            return (latents, Pipeline.Run(request, progress: null, noise: _ => (float[])noise.Clone(), CancellationToken.None));
        }
        finally
        {
            Pipeline.StepObserver = null;
        }
    }

    /// <summary>The largest |expected - actual|, where, the scale (largest |expected|), and their ratio.</summary>
    public static (double Worst, int WorstIndex, double Scale, double Relative) Difference(float[] expected, float[] actual)
    {
        double scale = 0, worst = 0;
        var worstIndex = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(expected[i]));
            var d = Math.Abs((double)expected[i] - actual[i]);
            if (!(d <= worst)) { worst = d; worstIndex = i; }
        }
        return (worst, worstIndex, scale, worst / Math.Max(scale, 1e-12));
    }

    public byte[] Bytes(JsonElement entry) => File.ReadAllBytes(Path.Combine(Directory, entry.GetProperty("file").GetString()!));

    public virtual void Dispose()
    {
        Pipeline.Dispose();
        Index.Dispose();
        GC.SuppressFinalize(this);
    }
}
