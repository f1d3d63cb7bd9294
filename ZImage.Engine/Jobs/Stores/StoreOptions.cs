using System.ComponentModel.DataAnnotations;

namespace ZImage.Engine.Jobs;

public enum StoreProvider
{
    /// <summary>One file in the data folder; one process, no setup (the default).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by several studio processes on one or many machines (docs/scale-out.md).</summary>
    PostgreSql,
}

/// <summary>Section <c>ZImage:Store</c>: where jobs, pictures' rows and timings live. Validated at start-up.</summary>
public sealed class StoreOptions : IValidatableObject
{
    public const string Section = "ZImage:Store";

    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>Npgsql connection string; required for <see cref="StoreProvider.PostgreSql"/>, unused for SQLite.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// With PostgreSQL: the folder every process writes pictures to and serves them from (an NFS/SMB mount). Empty: the
    /// jobs' own output folder, which is only right when all processes run on one machine.
    /// </summary>
    public string? SharedPictureFolder { get; set; }

    /// <summary>A claimed job belongs to its worker this long after the last heartbeat; then another worker may take it.</summary>
    [Range(2, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>How often a running job's worker renews its lease. Must be well under <see cref="LeaseSeconds"/>.</summary>
    [Range(0.2, 600)]
    public double HeartbeatSeconds { get; set; } = 5;

    /// <summary>How often an idle worker looks for work when no notification arrives (a missed NOTIFY, a lease running out).</summary>
    [Range(10, 60_000)]
    public int ClaimPollMilliseconds { get; set; } = 500;

    public bool IsShared => Provider == StoreProvider.PostgreSql;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == StoreProvider.PostgreSql)
        {
            if (string.IsNullOrWhiteSpace(ConnectionString))
                yield return new ValidationResult(
                    "ZImage:Store:ConnectionString is required when ZImage:Store:Provider is PostgreSql (e.g. \"Host=db;Database=zimage;Username=zimage;Password=…\").",
                    [nameof(ConnectionString)]);
            else if (PostgresJobStore.CheckConnectionString(ConnectionString) is { } problem)
                yield return new ValidationResult($"ZImage:Store:ConnectionString is not a valid PostgreSQL connection string: {problem}", [nameof(ConnectionString)]);
        }
        if (HeartbeatSeconds * 2 > LeaseSeconds)
            yield return new ValidationResult(
                $"ZImage:Store:HeartbeatSeconds ({HeartbeatSeconds}) must be at most half of ZImage:Store:LeaseSeconds ({LeaseSeconds}), so one late heartbeat does not lose the job.",
                [nameof(HeartbeatSeconds)]);
    }
}
