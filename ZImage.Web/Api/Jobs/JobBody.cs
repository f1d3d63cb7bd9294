using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using ZImage.Engine.Jobs;
using ZImage.Engine.Pipeline;
using ZImage.Web.Ui.Settings;

namespace ZImage.Web.Api.Jobs;

/// <summary>
/// Reads the body of <c>POST /api/v1/jobs</c>: the generation settings' own fields under their camelCase names
/// (<see cref="GenerationRequest"/>, no copy of them here). A field left out or sent as null takes the default for
/// new pictures saved in Settings; a missing or null seed draws a random one when the job is accepted. A <c>style</c>
/// (a preset id) adds that preset's fragments to the prompt and negative prompt, in the prompt's language; for an empty
/// prompt in English unless <c>Accept-Language</c> prefers Chinese (<c>zh</c>). Wrong types
/// and duplicated keys are refused by the serializer naming the field; ranges by the engine's one validation.
/// </summary>
public sealed class JobBody(IOptions<JsonOptions> app, NewPictureDefaults defaults, StyleCatalog styles)
{
    // Marks "no seed given" between reading and acceptance; never a valid seed (the range starts at 0).
    private const long NoSeed = long.MinValue;
    private readonly Lock _gate = new();
    private (GenerationRequest Defaults, JsonSerializerOptions Options)? _cached;

    public async Task<(JobRequest? Request, IResult? Error)> ReadAsync(HttpContext http, string? idempotencyKey)
    {
        var body = await ApiJson.ReadAsync<GenerationRequest>(http, OptionsFor(defaults.Current));
        if (body.Error is not null)
            return (null, body.Error);
        // A named style adds its fragments here, as picking it on the Generate page does (applying twice changes nothing).
        var (settings, styleProblem) = styles.Apply(body.Value!, WordsWhenEmpty(http.Request));
        if (styleProblem is not null)
            return (null, ApiProblems.Validation([styleProblem]));
        var random = settings.Seed == NoSeed;
        return (new JobRequest
        {
            Settings = random ? settings with { Seed = 0 } : settings,
            SeedPolicy = random ? SeedPolicy.Random : SeedPolicy.Fixed,
            IdempotencyKey = idempotencyKey,
        }, null);
    }

    /// <summary>The style words' language for a job with no prompt words: English, the API's, unless the request asks for Chinese first.</summary>
    private static PromptLanguage WordsWhenEmpty(HttpRequest request) =>
        request.GetTypedHeaders().AcceptLanguage.OrderByDescending(l => l.Quality ?? 1).FirstOrDefault() is { } first
        && first.Value.StartsWith("zh", StringComparison.OrdinalIgnoreCase)
            ? PromptLanguage.Chinese
            : PromptLanguage.English;

    /// <summary>
    /// The app's JSON options, except that a settings object starts as the defaults (so absent fields keep them)
    /// and null reads as the default. Built again only when the saved defaults change.
    /// </summary>
    private JsonSerializerOptions OptionsFor(GenerationRequest current)
    {
        lock (_gate)
        {
            if (_cached is { } c && c.Defaults == current)
                return c.Options;
        }
        var start = current with { Seed = NoSeed };
        var resolver = new DefaultJsonTypeInfoResolver();
        resolver.Modifiers.Add(info =>
        {
            if (info.Type != typeof(GenerationRequest))
                return;
            info.CreateObject = () => start with { };
            foreach (var property in info.Properties)
            {
                // "required" guards C# callers; here a missing prompt is the engine's "prompt is required".
                property.IsRequired = false;
                var fallback = ((System.Reflection.PropertyInfo)property.AttributeProvider!).GetValue(start);
                var inner = info.Options.GetConverter(property.PropertyType);
                property.CustomConverter = (JsonConverter)Activator.CreateInstance(
                    typeof(NullAsDefault<>).MakeGenericType(property.PropertyType), inner, fallback)!;
            }
        });
        var options = new JsonSerializerOptions(app.Value.SerializerOptions) { TypeInfoResolver = resolver };
        options.MakeReadOnly();
        lock (_gate)
            _cached = (current, options);
        return options;
    }

    private sealed class NullAsDefault<T>(JsonConverter<T> inner, T fallback) : JsonConverter<T>
    {
        public override bool HandleNull => true;

        public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? fallback : inner.Read(ref reader, typeToConvert, options);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => inner.Write(writer, value, options);
    }
}
