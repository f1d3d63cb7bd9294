using ZImage.Engine.History;
using ZImage.Engine.Jobs;
using ZImage.Web.Api.Auth;
using ZImage.Web.Ui.Identity;

namespace ZImage.Web.Tests.Kit;

/// <summary>
/// The web's people classes over a store opened by the test itself (no host): the SQLite file of a data folder, or a
/// PostgreSQL database that studios share. The store is migrated once, on first use, as the host's start-up would.
/// </summary>
public sealed class StorePeople<TStore>(TStore store) : IStoreStartup where TStore : IJobStore, IPeopleStore
{
    private readonly Lazy<Task> _initialised = new(() => store.InitializeAsync());

    public TStore Store { get; } = store;

    public AccountStore Accounts => new(Store, this);

    public ApiTokenStore Tokens => new(Store, this, TimeProvider.System);

    public Task EnsureInitializedAsync() => _initialised.Value;
}
