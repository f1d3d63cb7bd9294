using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.Options;

namespace ZImage.Web.Ui.Identity;

/// <summary>
/// A live page is a Blazor circuit over one WebSocket, opened while the sign-in cookie was good; it makes no new HTTP
/// requests, so the cookie check alone would let a removed person (or one whose password was changed) keep generating
/// in a tab left open. Every event the browser sends first checks the account as it is now; when the person is gone or
/// their stamp has moved on, the event is refused and the circuit ends: the page shows its "this page stopped" notice
/// (<c>#blazor-error-ui</c> in App.razor), whose Reload leads to the sign-in page.
/// </summary>
public sealed class AccountCircuitGuard(UiUser user, AccountStore accounts, IOptions<UiOptions> options) : CircuitHandler
{
    public override Func<CircuitInboundActivityContext, Task> CreateInboundActivityHandler(Func<CircuitInboundActivityContext, Task> next) =>
        async context =>
        {
            if (options.Value.Mode == UserMode.Accounts && user.Name is { } name)
            {
                var account = await accounts.FindAsync(name);
                if (account is null || (account.Stamp ?? "") != (user.Stamp ?? ""))
                    throw new SessionEndedException(name);
            }
            await next(context);
        };
}

/// <summary>Ends the circuit of a person whose account was removed or whose password changed.</summary>
public sealed class SessionEndedException(string name)
    : Exception($"The session of '{name}' has ended: the account was removed or its password changed.");
