using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;
using ZImage.Web.Api.Images;
using ZImage.Web.Api.Jobs;
using ZImage.Web.Api.Operations;
using ZImage.Web.Api.Sdapi;

namespace ZImage.Web.Api;

public static class ApiSetup
{
    /// <summary>The clock that paces SSE previews; keyed so tests can step it without touching the engine's clock.</summary>
    public const string PreviewClock = "ZImage.Api.PreviewClock";
    public const string UiModeKey = "ZImage:Web:Mode";

    public static WebApplicationBuilder AddZImageApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // The pages refuse to listen beyond localhost in open mode; the API must never be the open door beside
        // them, so accounts mode on the pages (ZImage:Web:Mode) means accounts mode here too.
        builder.Services.PostConfigure<ApiOptions>(o =>
        {
            if (string.Equals(builder.Configuration[UiModeKey], nameof(ApiAuthMode.Accounts), StringComparison.OrdinalIgnoreCase))
                o.AuthMode = ApiAuthMode.Accounts;
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddKeyedSingleton(PreviewClock, TimeProvider.System);
        builder.Services.AddSingleton<ApiTokenStore>();
        builder.Services.AddSingleton<CallerResolver>();
        builder.Services.AddSingleton<PreviewEncoder>();
        builder.Services.AddSingleton<Jobs.JobBody>();
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ApiMetrics>());
        builder.Services.AddProblemDetails();
        // Two values for one key are read differently by different parsers (first wins, last wins); refuse them.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.AllowDuplicateProperties = false);
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "Accounts mode: an API token (zit_...) created in Settings or with POST /api/v1/tokens. "
                    + "Open mode: no token; the caller is named by the X-ZImage-User header or the zimage-user / zi-user cookie.",
            };
            return Task.CompletedTask;
        }));
        return builder;
    }

    public static WebApplication MapZImageApi(this WebApplication app)
    {
        app.UseWhen(IsApiPath, api => api.Use(GuardApiRequest));

        var sdapi = app.MapGroup("/sdapi/v1").AddEndpointFilter<CallerFilter>().DisableAntiforgery();
        sdapi.MapSdapiEndpoints();

        var v1 = app.MapGroup("/api/v1").AddEndpointFilter<CallerFilter>().DisableAntiforgery();
        v1.MapJobEndpoints();
        v1.MapImageEndpoints();
        v1.MapTokenEndpoints();
        Usage.UsageEndpoints.MapUsageEndpoints(v1);
        Batches.BatchEndpoints.MapBatchEndpoints(v1);
        v1.MapGet("/system", SystemEndpoint.Get).WithTags("Operations")
            .WithSummary("GPU, VRAM, model state, execution providers and the queue.");
        v1.MapGet("/me", (HttpContext http, IOptions<ApiOptions> options) =>
            TypedResults.Ok(new { user = http.Caller().UserName, isAdmin = http.Caller().IsAdmin, authMode = options.Value.AuthMode.ToString().ToLowerInvariant() }))
            .WithTags("Tokens").WithSummary("Who the server thinks is calling.");

        app.MapOperationsEndpoints();
        app.MapOpenApi();
        return app;
    }

    private static bool IsApiPath(HttpContext http) =>
        http.Request.Path.StartsWithSegments("/sdapi") || http.Request.Path.StartsWithSegments("/api");

    /// <summary>
    /// Enforces the body limit before anything reads the body (413 as a problem), and turns the empty error
    /// responses the framework writes on its own (unmatched route under /api, 405) into problem details.
    /// </summary>
    private static async Task GuardApiRequest(HttpContext http, RequestDelegate next)
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes;
        if (http.Request.ContentLength > limit)
        {
            await ApiProblems.Status(StatusCodes.Status413PayloadTooLarge,
                $"The request body is {http.Request.ContentLength:N0} bytes; at most {limit:N0} bytes are accepted (ZImage:Api:MaxRequestBodyBytes).").ExecuteAsync(http);
            return;
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limit;

        await next(http);

        if (!http.Response.HasStarted && http.Response.StatusCode >= 400 && http.Response.ContentLength is null or 0
            && string.IsNullOrEmpty(http.Response.ContentType))
        {
            await ApiProblems.Status(http.Response.StatusCode, http.Response.StatusCode switch
            {
                404 => $"No API endpoint at {http.Request.Path}.",
                405 => $"{http.Request.Method} is not allowed on {http.Request.Path}.",
                _ => "The request could not be handled.",
            }).ExecuteAsync(http);
        }
    }
}
