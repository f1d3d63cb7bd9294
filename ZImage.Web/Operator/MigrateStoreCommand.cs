using Npgsql;
using ZImage.Engine.Jobs;

namespace ZImage.Web.Operator;

/// <summary>
/// <c>migrate-store --from sqlite --to postgres --db CONNECTION [--data DIR]</c>: moves the studio's history (people, jobs,
/// pictures' rows, measured timings, accounts, API tokens, batches) from <c>DIR/zimage.db</c> (default: the data folder <c>data</c>) to an empty PostgreSQL
/// database; refuses a database that already has a history. Picture files are not moved (the output folder is copied to the
/// shared picture folder by hand, see docs/scale-out.md).
/// </summary>
internal static class MigrateStoreCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            var a = new CliArguments(args, new HashSet<string>());
            string from = a.Required("from").ToLowerInvariant(), to = a.Required("to").ToLowerInvariant();
            if (from != "sqlite" || to is not ("postgres" or "postgresql"))
                throw new CliException($"--from must be sqlite and --to must be postgres (got --from {from} --to {to}): the only move there is, from the one-box store to the shared one");
            string db = a.Required("db");
            if (PostgresJobStore.CheckConnectionString(db) is { } problem)
                throw new CliException($"--db is not a valid PostgreSQL connection string: {problem}");
            string data = Path.GetFullPath(a.String("data") ?? "data");
            a.RejectUnknown();

            var copied = await StoreCopier.CopySqliteToPostgresAsync(Path.Combine(data, "zimage.db"), db);
            output.WriteLine($"moved {copied.Users} people, {copied.Jobs} jobs ({copied.Requeued} found running, queued again), " +
                $"{copied.Images} pictures' rows, {copied.StepTimings} step timings, {copied.Accounts} accounts, {copied.Tokens} API tokens " +
                $"and {copied.Batches} batches from {data} to PostgreSQL");
            output.WriteLine("next: copy the output folder's contents into ZImage:Store:SharedPictureFolder, then start the studios with " +
                "ZImage:Store:Provider=PostgreSql and this connection string (docs/scale-out.md)");
            return 0;
        }
        catch (Exception e) when (e is CliException or StoreCopyException or NpgsqlException)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
