using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace ZImage.Web.Api;

/// <summary>
/// Reads request bodies by hand instead of through parameter binding, so a malformed body gets a problem
/// that names the offending field (binding would answer an empty 400), and the caller is authenticated
/// before the body is touched.
/// </summary>
public static class ApiJson
{
    public sealed record Body<T>(T? Value, IResult? Error);

    public static Task<Body<T>> ReadAsync<T>(HttpContext http) where T : class =>
        ReadAsync<T>(http, http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions);

    /// <param name="json">The app's options or ones derived from them (see <see cref="Jobs.JobBody"/>).</param>
    public static async Task<Body<T>> ReadAsync<T>(HttpContext http, JsonSerializerOptions json) where T : class
    {
        // A body without a Content-Type is refused too: that is what a foreign page's no-cors fetch of a Blob sends,
        // and a browser cannot send application/json across origins without asking first (CORS preflight).
        if (!http.Request.HasJsonContentType())
            return new(null, TypedResults.Problem(
                detail: $"Send the body as application/json (got {(string.IsNullOrEmpty(http.Request.ContentType) ? "no Content-Type" : http.Request.ContentType)}).",
                statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type"));
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, json, http.RequestAborted);
            return value is null
                ? new(null, ApiProblems.Invalid("body", "The request body must be a JSON object."))
                : new(value, null);
        }
        catch (JsonException e)
        {
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path.TrimStart('$', '.');
            return new(null, ApiProblems.Invalid(field, $"The JSON body could not be read at '{field}': {FirstSentence(e.Message)}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(null, ApiProblems.Status(StatusCodes.Status413PayloadTooLarge, e.Message));
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..(cut + 1)] : message;
    }
}
