using Microsoft.AspNetCore.Builder;
using ZImage.Engine.Jobs;

namespace ZImage.Engine;

public static class EngineSetup
{
    /// <summary>Registers the engine: options (validated at start-up), native runtime, pipeline, jobs, history.</summary>
    public static WebApplicationBuilder AddZImageEngine(this WebApplicationBuilder builder)
    {
        builder.Services.AddZImageJobs(builder.Configuration);
        return builder;
    }
}
