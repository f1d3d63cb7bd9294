using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace ZImage.Testing;

/// <summary>
/// The throwaway PostgreSQL cluster .ci/run starts: its connection string comes in <c>ZIMAGE_TEST_POSTGRES</c>. Each test
/// gets a database of its own, dropped afterwards. In CI (<c>CI=true</c>) a missing variable fails the tests; elsewhere
/// they are skipped with the reason (see docs/scale-out.md for starting a cluster by hand).
/// </summary>
public static class PostgresTestServer
{
    public const string Variable = "ZIMAGE_TEST_POSTGRES";

    public static string? AdminConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s : null;

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when the tests run (the server is named, or CI must fail without it).</summary>
    public static string? SkipReason => AdminConnectionString is null && !InCi
        ? $"PostgreSQL tests need {Variable} (a connection string to a throwaway cluster, as .ci/run sets it); skipped outside CI"
        : null;

    public static async Task<TestDatabase> CreateDatabaseAsync()
    {
        string admin = AdminConnectionString ?? throw new InvalidOperationException(
            $"{Variable} is not set: in CI the PostgreSQL tests must run (.ci/run starts a throwaway cluster and sets it).");
        string name = "zi_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            await cmd.ExecuteNonQueryAsync();
        }
        return new TestDatabase(admin, name, new NpgsqlConnectionStringBuilder(admin) { Database = name, Pooling = true }.ConnectionString);
    }

    public sealed class TestDatabase(string admin, string name, string connectionString) : IAsyncDisposable
    {
        public string ConnectionString { get; } = connectionString;

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await using var c = new NpgsqlConnection(admin);
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c);
            await cmd.ExecuteNonQueryAsync();
        }
    }
}

/// <summary>Marks a test class whose facts need the PostgreSQL test server (<see cref="PostgresTestServer"/>).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class NeedsPostgresAttribute : Attribute;

/// <summary>
/// A fact that is skipped, with the reason, when its class is marked <see cref="NeedsPostgresAttribute"/> and no PostgreSQL
/// test server is available outside CI. One suite of store tests can so run on both providers (an abstract class with
/// these facts, one subclass per store).
/// </summary>
[XunitTestCaseDiscoverer("ZImage.Testing.StoreFactDiscoverer", TestAssembly.Name)]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnostics) : FactDiscoverer(diagnostics)
{
    private readonly IMessageSink _diagnostics = diagnostics;

    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (testMethod.TestClass.Class.GetCustomAttributes(typeof(NeedsPostgresAttribute)).Any() && PostgresTestServer.SkipReason is { } reason)
            return [new XunitSkippedDataRowTestCase(_diagnostics, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), testMethod, reason)];
        return base.Discover(options, testMethod, factAttribute);
    }
}
