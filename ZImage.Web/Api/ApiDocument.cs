using System.Globalization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using ZImage.Engine.Pipeline;
using ZImage.Web.Api.Jobs;
using ZImage.Web.Api.Sdapi;

namespace ZImage.Web.Api;

/// <summary>A query parameter a handler reads by hand (ApiQuery), so the document states it; attach with WithMetadata.</summary>
public sealed record DocumentedQuery(string Name, JsonSchemaType Type, string Description, long? Minimum = null, long? Maximum = null);

/// <summary>
/// The OpenAPI document at /openapi/v1.json says exactly what the API does: only the API (not the pages' form posts),
/// the bearer scheme on every operation that takes a caller, the query parameters and the Idempotency-Key header that
/// handlers read by hand, the ranges the engine enforces, and every error status an operation can answer.
/// </summary>
public static class ApiDocument
{
    public const string BearerScheme = "bearer";

    public static void Configure(OpenApiOptions o)
    {
        o.ShouldInclude = d => d.RelativePath is { } path
            && (path.StartsWith("api/", StringComparison.Ordinal) || path.StartsWith("sdapi/", StringComparison.Ordinal)
                || path is "healthz" or "readyz" or "metrics");
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "Accounts mode: an API token (zit_...) created in Settings or with POST /api/v1/tokens. "
                    + "Open mode: no token; the caller is named by the X-ZImage-User header or the zimage-user / zi-user cookie.",
            };
            return Task.CompletedTask;
        });
        o.AddOperationTransformer((operation, context, _) =>
        {
            var path = (context.Description.RelativePath ?? "").TrimEnd('/');
            var method = context.Description.HttpMethod ?? "GET";
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var callerNeeded = path.StartsWith("api/", StringComparison.Ordinal) || path.StartsWith("sdapi/", StringComparison.Ordinal) || path == "metrics";
            if (callerNeeded)
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
                Respond(operation, StatusCodes.Status401Unauthorized, "No valid token (accounts mode), or an unusable caller name (open mode: 400).");
                Respond(operation, StatusCodes.Status400BadRequest, "A field, query parameter or header is invalid; the problem names it.");
            }
            if (path == "metrics")
                Respond(operation, StatusCodes.Status403Forbidden, "Accounts mode: the token is not an administrator's.");
            operation.Parameters ??= [];
            foreach (var query in metadata.OfType<DocumentedQuery>())
            {
                var schema = new OpenApiSchema { Type = query.Type };
                if (query.Minimum is { } min)
                    schema.Minimum = min.ToString(CultureInfo.InvariantCulture);
                if (query.Maximum is { } max)
                    schema.Maximum = max.ToString(CultureInfo.InvariantCulture);
                operation.Parameters.Add(new OpenApiParameter { Name = query.Name, In = ParameterLocation.Query, Description = query.Description, Schema = schema });
            }
            if (!HttpMethods.IsGet(method) && !HttpMethods.IsDelete(method))
            {
                // State-changing requests: the cross-site rule (Origin / Sec-Fetch-Site) and the body rules.
                Respond(operation, StatusCodes.Status403Forbidden, "A browser marked the request as coming from another origin, or the caller may not do this.");
                if (operation.RequestBody is not null)
                {
                    if (operation.RequestBody is OpenApiRequestBody body)
                        body.Required = true;
                    Respond(operation, StatusCodes.Status413PayloadTooLarge, "The body is larger than ZImage:Api:MaxRequestBodyBytes.");
                    Respond(operation, StatusCodes.Status415UnsupportedMediaType, "The body is not sent as application/json.");
                }
            }
            if (HttpMethods.IsDelete(method))
                Respond(operation, StatusCodes.Status403Forbidden, "A browser marked the request as coming from another origin.");
            if (path is "api/v1/jobs" or "sdapi/v1/txt2img" && HttpMethods.IsPost(method))
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = JobEndpoints.IdempotencyHeader,
                    In = ParameterLocation.Header,
                    Description = "Makes a retry return the first job instead of queueing another. The same key with a different body answers 422.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = JobEndpoints.MaxIdempotencyKeyLength },
                });
                Respond(operation, StatusCodes.Status422UnprocessableEntity, "The Idempotency-Key was used before for a different request.");
                Respond(operation, StatusCodes.Status429TooManyRequests, "The caller's share of the queue is full; Retry-After says when to try again.");
                Respond(operation, StatusCodes.Status503ServiceUnavailable, "The whole queue is full, or the server is stopping.");
                if (path == "sdapi/v1/txt2img")
                    Respond(operation, StatusCodes.Status504GatewayTimeout, "The job did not finish within ZImage:Api:SyncTimeoutSeconds; it stays queued.");
            }
            if (operation.Parameters.Count == 0)
                operation.Parameters = null;
            return Task.CompletedTask;
        });
        o.AddSchemaTransformer((schema, context, _) =>
        {
            var type = context.JsonTypeInfo.Type;
            if (type == typeof(GenerationRequest))
            {
                schema.Required = new HashSet<string> { "prompt" };
                Ranges(schema, "width", "height", "steps", "cfg", "count", "seed");
            }
            else if (type == typeof(Txt2ImgRequest))
                Ranges(schema, "width", "height", "steps", "cfg_scale", "batch_size", "seed");
            return Task.CompletedTask;
        });
    }

    /// <summary>The engine's limits (GenerationLimits), so the document and the refusals can never disagree.</summary>
    private static void Ranges(OpenApiSchema schema, params string[] names)
    {
        foreach (var name in names)
        {
            if (schema.Properties?.TryGetValue(name, out var property) != true || property is not OpenApiSchema p)
                continue;
            (string Min, string Max, string? Note) range = name switch
            {
                "width" or "height" => (Num(GenerationLimits.MinSide), Num(GenerationLimits.MaxSide), $"A multiple of {GenerationLimits.SideMultiple}."),
                "steps" => (Num(GenerationLimits.MinSteps), Num(GenerationLimits.MaxSteps), null),
                "cfg" or "cfg_scale" => (Num(GenerationLimits.MinCfg), Num(GenerationLimits.MaxCfg), "Guidance runs only above 1; Z-Image-Turbo is made for 0."),
                "count" or "batch_size" => (Num(GenerationLimits.MinCount), Num(GenerationLimits.MaxCount), name == "batch_size" ? "batch_size x n_iter is at most 4." : null),
                "seed" when schema.Properties.ContainsKey("cfg_scale") => ("-1", Num(GenerationLimits.MaxSeed), "-1 or absent: a random seed."),
                _ => (Num(GenerationLimits.MinSeed), Num(GenerationLimits.MaxSeed), "Absent: a random seed."),
            };
            p.Minimum = range.Min;
            p.Maximum = range.Max;
            if (name is "width" or "height")
                p.MultipleOf = GenerationLimits.SideMultiple;
            if (range.Note is not null)
                p.Description = range.Note;
        }
    }

    private static string Num(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Respond(OpenApiOperation operation, int status, string description)
    {
        operation.Responses ??= new OpenApiResponses();
        var key = status.ToString(CultureInfo.InvariantCulture);
        if (operation.Responses.ContainsKey(key))
            return;
        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference("ProblemDetails", null) },
            },
        };
    }
}
