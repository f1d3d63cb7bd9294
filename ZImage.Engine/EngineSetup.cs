using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZImage.Engine.Jobs;
using ZImage.Engine.Models.Install;
using ZImage.Engine.Models.Install.Hub;
using ZImage.Engine.Onnx;
using ZImage.Engine.Pipeline;

namespace ZImage.Engine;

public static class EngineSetup
{
    /// <summary>Registers the engine: options (validated at start-up), native runtime, pipeline, jobs, history.</summary>
    public static IHostApplicationBuilder AddZImageEngine(this IHostApplicationBuilder builder)
    {
        builder.Services.AddZImageOnnx(builder.Configuration);
        builder.Services.AddZImagePipeline(builder.Configuration);
        builder.Services.AddZImageJobs(builder.Configuration);
        builder.Services.AddZImageHubDownloads(builder.Configuration);
        builder.Services.AddSingleton<ICheckpointConverter, CheckpointConverter>();
        return builder;
    }
}
