using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// Password guessing is slowed per client address: at most <c>ZImage:Web:SignInAttemptsPerMinute</c> (default 10)
/// posts to the sign-in and first-administrator forms a minute; the next ones are answered 429 with Retry-After.
/// A person who mistypes a few times never meets the limit; a script trying a list of passwords does at once.
/// </summary>
public static class SignInRateLimit
{
    public const string Policy = "zimage-sign-in";
    public const string AttemptsKey = "ZImage:Web:SignInAttemptsPerMinute";
    public const int DefaultAttemptsPerMinute = 10;

    public static IServiceCollection AddSignInRateLimit(this IServiceCollection services, IConfiguration configuration)
    {
        var raw = configuration[AttemptsKey];
        var attempts = DefaultAttemptsPerMinute;
        if (raw is not null && (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out attempts) || attempts is < 1 or > 10_000))
            throw new InvalidOperationException($"{AttemptsKey} must be a whole number between 1 and 10000 (got '{raw}').");

        return services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(Policy, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = attempts, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            o.OnRejected = async (context, ct) =>
            {
                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                context.HttpContext.Response.ContentType = "text/plain; charset=utf-8";
                await context.HttpContext.Response.WriteAsync(
                    $"Too many sign-in attempts from this address. Wait {seconds} seconds and try again.", ct);
            };
        });
    }
}
