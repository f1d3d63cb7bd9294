using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using ZImage.Web.Tests.Api;

namespace ZImage.Web.Tests.Hardening;

/// <summary>
/// Every API field and parameter fed wrong types, out-of-range and huge numbers, 1 MB strings, invalid UTF-8,
/// control characters, path-like ids, duplicated keys and oversized bodies. The rule for each request: never a
/// 5xx; a refusal is a 4xx problem (application/problem+json) that names the field; a 2xx only for a value that is
/// in fact valid (a control character in a prompt is text). Each test prints how many requests it tried.
/// </summary>
public sealed class BadInputTests(ApiFactory factory, ITestOutputHelper output) : IClassFixture<ApiFactory>
{
    private static readonly string OneMegabyte = new('a', 1_000_000);
    private static readonly string TenThousandAndOne = new('p', 10_001);

    /// <summary>Values no integer field may take; some are not even JSON (the raw text goes into the body).</summary>
    private static readonly string[] BadIntegers =
    [
        "\"abc\"", "true", "[]", "{}", "-1", "0", "-2147483649", "2147483648", "9223372036854775808", "1e400", "1.5",
        "NaN", "Infinity", "\"\"", "99999999999999999999999999999", "0x10", "1_000", "--1", "\"\\u0000\"", "\"12\u0000\"",
    ];

    private static readonly string[] BadFloats = ["\"abc\"", "true", "[]", "{}", "-1", "-0.0001", "10.0001", "1e39", "1e400", "NaN", "\"NaN\"", "\"Infinity\"", "-Infinity", "\"\"", "0x1"];

    private static readonly string[] BadSeeds = ["\"abc\"", "-2", "4294967296", "9223372036854775808", "-9223372036854775809", "1.5", "[]", "true", "1e400"];

    private static readonly string[] BadStrings =
    [
        "123", "true", "[]", "{}", "{\"a\":1}", Json(TenThousandAndOne), Json(OneMegabyte), "\"\\ud800\"",
    ];

    /// <summary>Strings that are odd but valid text: accepted, or refused with the field named.</summary>
    private static readonly string[] OddStrings =
    [
        Json("\u0000\u0001\u0007\u001b[31mred"), Json("line\r\nSet-Cookie: x=1"), Json("../../../../etc/passwd"), Json("C:\\Windows\\win.ini"),
        Json("\u202Eevil\u202C"), Json("' OR 1=1 --"), Json("<script>alert(1)</script>"), Json("😀🦊"), Json("   "), Json(""),
    ];

    private static readonly string[] PathLikeIds =
    [
        "..%2F..%2F..%2Fetc%2Fpasswd", "..", "%2e%2e", "....%2F%2F", "a%0d%0aSet-Cookie:%20x=1", "C:%5Cwindows%5Cwin.ini",
        new string('x', 5000), "%E2%80%AE", "'%20OR%201=1%20--", "-1", "0", "9223372036854775808", "%F0%9F%A6%8A", "%C3%28", "*",
    ];

    private int _tried;
    private int _accepted;
    private readonly List<string> _failures = [];

    [Fact]
    public async Task JobFieldsAreRefusedByNameNeverWithAServerError()
    {
        var fields = new (string Name, string[] Bad)[]
        {
            ("prompt", BadStrings), ("negativePrompt", BadStrings), ("width", BadIntegers), ("height", BadIntegers), ("steps", BadIntegers),
            ("count", BadIntegers), ("cfg", BadFloats), ("cfgTruncation", BadFloats), ("cfgNormalization", BadFloats), ("seed", BadSeeds),
        };
        foreach (var (name, bad) in fields)
        {
            foreach (var value in bad)
                await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", JobBody(name, value), name);
            foreach (var value in name.Contains("rompt") ? OddStrings : [])
                await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", JobBody(name, value), name);
        }
        // Out of range but well-formed: the engine's limits name the field and the allowed range.
        foreach (var (name, value) in new[] { ("width", "255"), ("width", "2064"), ("width", "1000"), ("height", "4096"), ("steps", "51"), ("count", "5"), ("cfg", "10.5"), ("seed", "-1") })
            await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", JobBody(name, value), name, mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", Encoding.UTF8.GetBytes("{\"width\":256}"), "prompt", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", InvalidUtf8Body("prompt"), "prompt", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", InvalidUtf8Body("negativePrompt"), "negativePrompt", mustRefuse: true);
        await ExpectBodyRefusalsAsync("/api/v1/jobs");
        await ExpectHeaderRefusalsAsync();
        await FinishAsync();
    }

    [Fact]
    public async Task DuplicatedKeysAreRefusedNamingTheKey()
    {
        // Two values for one key mean different things to different parsers; refuse instead of silently taking one.
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"width\":256,\"width\":512}"), "width", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"prompt\":\"b\"}"), "prompt", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/api/v1/jobs", Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"steps\":2,\"steps\":\"x\"}"), "steps", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Post, "/sdapi/v1/txt2img", Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"seed\":1,\"seed\":2}"), "seed", mustRefuse: true);
        await ExpectFieldAsync(HttpMethod.Put, "/api/v1/images/1/favourite", Encoding.UTF8.GetBytes("{\"favourite\":true,\"favourite\":false}"), "favourite", mustRefuse: true);
        await FinishAsync();
    }

    [Fact]
    public async Task A1111FieldsAreRefusedByNameNeverWithAServerError()
    {
        var fields = new (string Name, string[] Bad)[]
        {
            ("prompt", BadStrings), ("negative_prompt", BadStrings), ("width", BadIntegers), ("height", BadIntegers), ("steps", BadIntegers),
            ("cfg_scale", BadFloats), ("seed", BadSeeds), ("batch_size", BadIntegers), ("n_iter", BadIntegers), ("sampler_name", BadStrings[..5]),
            ("send_images", ["\"yes\"", "1", "[]", "{}"]),
        };
        foreach (var (name, bad) in fields)
        {
            foreach (var value in bad)
                await ExpectFieldAsync(HttpMethod.Post, "/sdapi/v1/txt2img", Txt2ImgBody(name, value), name, alsoNamed: name is "n_iter" ? "batch_size" : null);
        }
        // batch_size x n_iter wraps around in 32 bits: 65537 x 65535 = -1.
        await ExpectFieldAsync(HttpMethod.Post, "/sdapi/v1/txt2img", Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"batch_size\":65537,\"n_iter\":65535}"), "batch_size", mustRefuse: true);
        await ExpectBodyRefusalsAsync("/sdapi/v1/txt2img");

        foreach (var image in new[] { "123", "[]", Json("not base64!"), Json(""), Json("data:image/png;base64,AAAA"), Json(Convert.ToBase64String(new byte[700_000])), Json("iVBORw0KGgo="), "true" })
            await ExpectFieldAsync(HttpMethod.Post, "/sdapi/v1/png-info", Encoding.UTF8.GetBytes($"{{\"image\":{image}}}"), "image", mustRefuse: true);
        await ExpectBodyRefusalsAsync("/sdapi/v1/png-info");
        await FinishAsync();
    }

    [Fact]
    public async Task IdsInPathsAreNotFoundNeverAServerError()
    {
        foreach (var id in PathLikeIds)
        {
            // ".." is resolved by the client as a dot-segment: the request lands on the collection, where 405 is right.
            int[] notFound = id is ".." or "%2e%2e" ? [404, 405] : [404];
            await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/jobs/{id}", notFound);
            await ExpectStatusAsync(HttpMethod.Delete, $"/api/v1/jobs/{id}", notFound);
            await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/jobs/{id}/events", notFound);
            await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/images/{id}", notFound);
            await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/images/{id}/thumb", notFound);
            await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/images/{id}/info", notFound);
            await ExpectStatusAsync(HttpMethod.Delete, $"/api/v1/images/{id}", notFound);
            await ExpectStatusAsync(HttpMethod.Delete, $"/api/v1/tokens/{id}", [.. notFound, 403]);
            await ExpectStatusAsync(HttpMethod.Get, $"/ui/images/{id}", notFound);
            await ExpectStatusAsync(HttpMethod.Get, $"/ui/images/{id}/thumb", notFound);
        }
        foreach (var body in new[] { "{\"favourite\":\"yes\"}", "{\"favourite\":1}", "{\"favourite\":null}", "{}", "[]" })
            await ExpectFieldAsync(HttpMethod.Put, "/api/v1/images/1/favourite", Encoding.UTF8.GetBytes(body), body == "[]" ? "body" : "favourite", mustRefuse: true);
        await FinishAsync();
    }

    [Fact]
    public async Task QueryParametersAreRefusedByName()
    {
        var parameters = new (string Name, string[] Bad)[]
        {
            ("page", ["-1", "abc", "2147483648", "1.5", "%00", ""]),
            ("pageSize", ["0", "201", "-5", "abc", "99999999999"]),
            ("width", ["0", "-1", "abc", "100001"]),
            ("height", ["0", "abc", "1e3"]),
            ("size", ["abc", "1024", "1024x", "x768", "1024x768x2", "-1x-1", "99999999999x1"]),
            ("from", ["yesterday", "2026-13-45", "%00", "9999999999999"]),
            ("to", ["nope", "2026-02-30"]),
            ("favourites", ["maybe", "2", "yes!"]),
            ("text", [new string('t', 501)]),
        };
        foreach (var (name, bad) in parameters)
        {
            foreach (var value in bad.Where(v => v.Length > 0))
                await ExpectFieldAsync(HttpMethod.Get, $"/api/v1/history?{name}={Uri.EscapeDataString(value)}", null, name, mustRefuse: true);
        }
        await ExpectFieldAsync(HttpMethod.Get, "/api/v1/history?from=2026-02-01&to=2026-01-01", null, "to", mustRefuse: true);
        foreach (var value in new[] { "0", "501", "abc", "-1" })
            await ExpectFieldAsync(HttpMethod.Get, $"/api/v1/jobs?limit={value}", null, "limit", mustRefuse: true);
        // A huge query string is refused or answered, never a crash.
        await ExpectStatusAsync(HttpMethod.Get, $"/api/v1/history?text={new string('q', 100_000)}", [400, 414]);
        // The UI's ZIP download names its parameter in plain text.
        foreach (var ids in new[] { "", "abc", "-1", "0", string.Join(',', Enumerable.Range(1, 501)), "%00", "1;2" })
        {
            _tried++;
            using var response = await Client("zip").GetAsync($"/ui/images/zip?ids={ids}");
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.BadRequest || !text.Contains("ids"))
                _failures.Add($"GET /ui/images/zip?ids={Short(ids)} -> {(int)response.StatusCode} {Short(text)}");
        }
        await FinishAsync();
    }

    /// <summary>Whole bodies that are not the object the endpoint wants.</summary>
    private async Task ExpectBodyRefusalsAsync(string path)
    {
        var bodies = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("not json"), Array.Empty<byte>(), Encoding.UTF8.GetBytes("[]"), Encoding.UTF8.GetBytes("null"), Encoding.UTF8.GetBytes("\"a string\""),
            Encoding.UTF8.GetBytes("123"), Encoding.UTF8.GetBytes("{\"prompt\":"), Encoding.UTF8.GetBytes("{\"prompt\":\"a\"}}"),
            Encoding.UTF8.GetBytes("{\"prompt\":" + new string('[', 5000) + "1" + new string(']', 5000) + "}"),
            new byte[] { 0xff, 0xfe, 0x00, 0x7b }, Encoding.UTF8.GetBytes("{'prompt':'single quotes'}"), Encoding.UTF8.GetBytes("{\"prompt\":\"a\",}"),
            Encoding.UTF8.GetBytes("{\"prompt\":\"a\" /* comment */}"), Encoding.UTF8.GetBytes("{\"prompt\":\"unterminated,\"width\":256}"),
        };
        foreach (var body in bodies)
            await ExpectFieldAsync(HttpMethod.Post, path, body, "body", mustRefuse: true, anyFieldNamed: true);

        // Over the body limit (1 MiB in the test server): 413 before anything is read.
        var huge = Encoding.UTF8.GetBytes("{\"prompt\":\"" + new string('b', 2_000_000) + "\"}");
        await ExpectStatusAsync(HttpMethod.Post, path, [413], huge);
        // The same without a Content-Length (chunked): the limit still holds while reading.
        _tried++;
        using (var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StreamContent(new MemoryStream(huge)) })
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TransferEncodingChunked = true;
            using var response = await Client("chunked").SendAsync(request);
            if ((int)response.StatusCode is not (413 or 400))
                _failures.Add($"chunked {Short(path)} of 2 MB -> {(int)response.StatusCode}");
        }
        foreach (var type in new[] { "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded" })
        {
            _tried++;
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"prompt\":\"a\"}")) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            using var response = await Client("types").SendAsync(request);
            if (response.StatusCode != HttpStatusCode.UnsupportedMediaType)
                _failures.Add($"POST {path} as {type} -> {(int)response.StatusCode} {Short(await response.Content.ReadAsStringAsync())}");
        }
    }

    private async Task ExpectHeaderRefusalsAsync()
    {
        var names = new[] { "\u0001ctl", new string('n', 41), "   ", "%00", "%0d%0aX:%201", Uri.EscapeDataString(OneMegabyte[..100_000]), "%ZZ%" };
        foreach (var name in names)
        {
            _tried++;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
            request.Headers.TryAddWithoutValidation("X-ZImage-User", name);
            using var response = await factory.CreateClient().SendAsync(request);
            // A name is normalised (whitespace runs, CR and LF included, become one space), so only the unusable ones must be refused.
            await CheckAsync($"X-ZImage-User: {Short(name)}", response, "X-ZImage-User", mustRefuse: name is not ("%ZZ%" or "%0d%0aX:%201"), anyFieldNamed: false);
        }
        _tried++;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = new ByteArrayContent(JobBody("steps", "2")) })
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation("Idempotency-Key", new string('k', 201));
            using var response = await Client("idem").SendAsync(request);
            await CheckAsync("Idempotency-Key of 201 characters", response, "Idempotency-Key", mustRefuse: true, anyFieldNamed: false);
        }
        foreach (var authorization in new[] { "Basic YTpi", "Bearer", "Bearer zit_" + new string('x', 10_000), "Bearer \u0001", "bearer zit_nope" })
        {
            _tried++;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs");
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            using var response = await factory.CreateClient().SendAsync(request);
            if (response.StatusCode != HttpStatusCode.Unauthorized)
                _failures.Add($"Authorization: {Short(authorization)} -> {(int)response.StatusCode}");
        }
    }

    private async Task ExpectFieldAsync(HttpMethod method, string path, byte[]? body, string field, bool mustRefuse = false,
        bool anyFieldNamed = false, string? alsoNamed = null)
    {
        _tried++;
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await Client($"fuzz-{_tried}").SendAsync(request);
        var label = $"{method} {Short(path)} {(body is null ? "" : Short(Encoding.UTF8.GetString(body)))}";
        await CheckAsync(label, response, field, mustRefuse, anyFieldNamed, alsoNamed);
    }

    private OpenApiConformance? _document;

    /// <summary>Every answer is also held against the OpenAPI document: its status listed, its JSON body of the documented shape.</summary>
    private async Task ConformsAsync(HttpResponseMessage response)
    {
        _document ??= await OpenApiConformance.LoadAsync(factory.CreateClient());
        if (await _document.CheckAsync(response) is { } problem)
            _failures.Add("not as documented: " + problem);
    }

    private async Task CheckAsync(string label, HttpResponseMessage response, string field, bool mustRefuse, bool anyFieldNamed, string? alsoNamed = null)
    {
        await ConformsAsync(response);
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        if (status >= 500)
        {
            _failures.Add($"{label} -> {status} {Short(text)}");
            return;
        }
        if (status < 400)
        {
            if (mustRefuse)
                _failures.Add($"{label} -> {status}, expected a refusal naming {field}");
            else
                _accepted++;
            return;
        }
        if (status == 413)
            return;
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            _failures.Add($"{label} -> {status} as {response.Content.Headers.ContentType?.MediaType}: {Short(text)}");
            return;
        }
        var problem = JsonDocument.Parse(text).RootElement;
        var errors = problem.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object
            ? e.EnumerateObject().Select(p => p.Name).ToList()
            : [];
        var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
        var named = errors.Contains(field) || (alsoNamed is not null && errors.Contains(alsoNamed))
                    || (anyFieldNamed && errors.Count > 0)
                    || (errors.Count == 0 && detail.Contains(field, StringComparison.OrdinalIgnoreCase));
        if (!named)
            _failures.Add($"{label} -> {status} does not name {field}: {Short(text)}");
    }

    private async Task ExpectStatusAsync(HttpMethod method, string path, int[] allowed, byte[]? body = null)
    {
        _tried++;
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await Client("paths").SendAsync(request);
        await ConformsAsync(response);
        var status = (int)response.StatusCode;
        if (!allowed.Contains(status))
            _failures.Add($"{method} {Short(path)} -> {status}, expected {string.Join(" or ", allowed)}: {Short(await response.Content.ReadAsStringAsync())}");
    }

    private async Task FinishAsync()
    {
        output.WriteLine($"{_tried} requests tried; {_accepted} accepted as valid; {_failures.Count} broke the rule");
        foreach (var f in _failures)
            output.WriteLine(f);
        Assert.True(_failures.Count == 0, $"{_failures.Count} of {_tried} requests broke the rule:\n{string.Join("\n", _failures.Take(40))}");
        Assert.True(await HealthyAsync(), "the server stopped answering /healthz");
    }

    private async Task<bool> HealthyAsync()
    {
        using var response = await factory.CreateClient().GetAsync("/healthz");
        return response.IsSuccessStatusCode;
    }

    private HttpClient Client(string user) => factory.ClientFor(user);

    private static byte[] JobBody(string field, string rawValue) => Encoding.UTF8.GetBytes(field == "prompt"
        ? $"{{\"prompt\":{rawValue},\"width\":256,\"height\":256,\"steps\":1}}"
        : $"{{\"prompt\":\"fuzz\",\"width\":256,\"height\":256,\"steps\":1,\"{field}\":{rawValue}}}");

    private static byte[] Txt2ImgBody(string field, string rawValue) => Encoding.UTF8.GetBytes(field == "prompt"
        ? $"{{\"prompt\":{rawValue},\"width\":256,\"height\":256,\"steps\":1}}"
        : $"{{\"prompt\":\"fuzz\",\"width\":256,\"height\":256,\"steps\":1,\"{field}\":{rawValue}}}");

    /// <summary>A body whose string value holds bytes that are not UTF-8 (a lone continuation byte and 0xFF).</summary>
    private static byte[] InvalidUtf8Body(string field)
    {
        var head = Encoding.UTF8.GetBytes($"{{\"prompt\":\"ok\",\"width\":256,\"height\":256,\"steps\":1,\"{field}\":\"bad ");
        if (field == "prompt")
            head = Encoding.UTF8.GetBytes("{\"width\":256,\"height\":256,\"steps\":1,\"prompt\":\"bad ");
        return [.. head, 0x80, 0xff, 0xc3, 0x28, .. Encoding.UTF8.GetBytes("\"}")];
    }

    private static string Json(string s) => JsonSerializer.Serialize(s);

    private static string Short(string s) => s.Length > 120 ? s[..120] + $"…({s.Length} chars)" : s;
}
