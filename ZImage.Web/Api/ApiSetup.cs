using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
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
    public const string ApiReferencePath = "/api-reference";

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
        // Numbers are numbers: "256" for width is refused (not silently read), so the document types them integer only.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.AllowDuplicateProperties = false;
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        builder.Services.AddOpenApi(ApiDocument.Configure);
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
        Images.SharingEndpoints.MapSharingEndpoints(v1);
        v1.MapTokenEndpoints();
        Usage.UsageEndpoints.MapUsageEndpoints(v1);
        Batches.BatchEndpoints.MapBatchEndpoints(v1);
        Styles.StyleEndpoints.MapStyleEndpoints(v1);
        v1.MapGet("/system", SystemEndpoint.Get).WithTags("Operations")
            .WithSummary("GPU, VRAM, model state, execution providers and the queue.");
        v1.MapGet("/me", (HttpContext http, IOptions<ApiOptions> options) =>
            TypedResults.Ok(new { user = http.Caller().UserName, isAdmin = http.Caller().IsAdmin, authMode = options.Value.AuthMode.ToString().ToLowerInvariant() }))
            .WithTags("Tokens").WithSummary("Who the server thinks is calling.");

        app.MapOperationsEndpoints();
        app.MapOpenApi();
        // A human reference of the same document, served with its own script (no CDN, no telemetry, no web fonts).
        app.MapScalarApiReference(ApiReferencePath, o =>
        {
            o.Title = "ZImage API";
            o.Telemetry = false;
            o.DefaultFonts = false;
        });
        // Without these, an unknown API path is claimed by a GET-only catch-all of the pages and answers 405 "Allow: GET, HEAD".
        foreach (var prefix in new[] { "/api/{**rest}", "/sdapi/{**rest}" })
            app.MapFallback(prefix, NoSuchEndpoint).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// Reached when routing found no endpoint for this method (and content type) under /api or /sdapi: 404 for a path no
    /// API endpoint has; 405 with Allow when the path exists with other methods; 415 when it exists for this method but
    /// takes another body type.
    /// </summary>
    private static IResult NoSuchEndpoint(HttpContext http, EndpointDataSource endpoints, ParameterPolicyFactory policies)
    {
        var path = http.Request.Path.Value ?? "";
        var methods = endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && !raw.Contains("{**rest}", StringComparison.Ordinal)
                        && (raw.StartsWith("/api", StringComparison.Ordinal) || raw.StartsWith("/sdapi", StringComparison.Ordinal))
                        && Matches(e.RoutePattern, path, http, policies))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (methods.Count == 0)
            return ApiProblems.Status(StatusCodes.Status404NotFound, $"No API endpoint at {path}.");
        if (methods.Contains(http.Request.Method, StringComparer.OrdinalIgnoreCase))
            return ApiProblems.Status(StatusCodes.Status415UnsupportedMediaType,
                $"Send the body as application/json (got {(string.IsNullOrEmpty(http.Request.ContentType) ? "no Content-Type" : http.Request.ContentType)}).");
        http.Response.Headers.Allow = string.Join(", ", methods);
        return ApiProblems.Status(StatusCodes.Status405MethodNotAllowed, $"{http.Request.Method} is not allowed on {path}; use {string.Join(" or ", methods)}.");
    }

    private static bool Matches(Microsoft.AspNetCore.Routing.Patterns.RoutePattern pattern, string path, HttpContext http, ParameterPolicyFactory policies)
    {
        var values = new RouteValueDictionary();
        if (!new Microsoft.AspNetCore.Routing.Template.TemplateMatcher(Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(pattern.RawText!), []).TryMatch(path, values))
            return false;
        foreach (var (name, references) in pattern.ParameterPolicies)
        {
            foreach (var reference in references)
            {
                if (policies.Create(pattern.GetParameter(name), reference) is IRouteConstraint constraint
                    && !constraint.Match(http, null, name, values, RouteDirection.IncomingRequest))
                    return false;
            }
        }
        return true;
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
                415 => $"Send the body as application/json (got {(string.IsNullOrEmpty(http.Request.ContentType) ? "no Content-Type" : http.Request.ContentType)}).",
                _ => "The request could not be handled.",
            }).ExecuteAsync(http);
        }
    }
}
