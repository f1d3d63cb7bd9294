using System.Globalization;

namespace ZImage.Engine.Jobs.Batches;

/// <summary>One prompt of a batch list as written: its 1-based line and the columns it gave (null: not given).</summary>
public sealed record BatchLine(int Line, string Prompt, string? Negative = null, long? Seed = null, int? Width = null, int? Height = null, string? Style = null);

/// <summary>
/// A bad row: its line (0: the batch as a whole), the field (column) and a sentence naming the rule. <see cref="Rule"/>
/// and <see cref="Args"/> let a UI say the same in the person's language, as <see cref="ValidationProblem"/>'s do (the
/// engine's rules range, side, tooLong, required and choice, and the list's own: unclosedQuote, emptyCsv, unknownColumn,
/// noPromptColumn, extraFields, noPrompts, tooManyPrompts, tooManyJobs).
/// </summary>
public sealed record BatchLineProblem(int Line, string Field, string Message)
{
    public string Rule { get; init; } = "";
    public IReadOnlyList<object> Args { get; init; } = [];

    /// <summary>An engine rule's problem, found on this line.</summary>
    public static BatchLineProblem Of(int line, ValidationProblem p) => new(line, p.Field, p.Message) { Rule = p.Rule, Args = p.Args };

    public override string ToString() => $"line {Line}, {Field}: {Message}";
}

public enum BatchListFormat
{
    /// <summary>One prompt per line; blank lines and lines starting with # are skipped.</summary>
    Text,
    /// <summary>A header row naming the columns: prompt (required), negative, seed, width, height, style.</summary>
    Csv,
}

/// <summary>Reads a pasted or uploaded list of prompts.</summary>
public static class BatchList
{
    public const int MaxLines = 5_000;
    public static readonly IReadOnlyList<string> Columns = ["prompt", "negative", "seed", "width", "height", "style"];

    public static (IReadOnlyList<BatchLine> Lines, IReadOnlyList<BatchLineProblem> Problems) Parse(string text, BatchListFormat format) =>
        format == BatchListFormat.Csv ? ParseCsv(text) : ParseText(text);

    public static (IReadOnlyList<BatchLine> Lines, IReadOnlyList<BatchLineProblem> Problems) ParseText(string text)
    {
        var lines = new List<BatchLine>();
        var problems = new List<BatchLineProblem>();
        var rows = (text ?? "").Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < rows.Length; i++)
        {
            var prompt = rows[i].Trim();
            if (prompt.Length == 0 || prompt.StartsWith('#'))
                continue;
            if (prompt.Length > GenerationLimits.MaxPromptChars)
                problems.Add(PromptTooLong(i + 1, prompt));
            else
                lines.Add(new BatchLine(i + 1, prompt));
        }
        return Finish(lines, problems);
    }

    public static (IReadOnlyList<BatchLine> Lines, IReadOnlyList<BatchLineProblem> Problems) ParseCsv(string text)
    {
        var (records, error) = Csv.Parse((text ?? "").TrimStart('\uFEFF'));
        if (records is null)
            return ([], [new(error!.Line, "csv", error.Message) { Rule = "unclosedQuote" }]);
        if (records.Count == 0)
            return ([], [new(1, "prompt", "the list is empty: write a header row (prompt, negative, seed, width, height, style) and one row per prompt.") { Rule = "emptyCsv", Args = [ColumnList] }]);
        var problems = new List<BatchLineProblem>();
        var (headerLine, header) = records[0];
        var names = header.Select(h => h.Trim().ToLowerInvariant()).ToList();
        for (int c = 0; c < names.Count; c++)
        {
            if (!Columns.Contains(names[c]))
                problems.Add(new(headerLine, names[c].Length == 0 ? $"column {c + 1}" : names[c], $"unknown column; the columns are {ColumnList}.") { Rule = "unknownColumn", Args = [ColumnList] });
        }
        if (!names.Contains("prompt"))
            problems.Add(new(headerLine, "prompt", $"the header row must name a prompt column (columns: {ColumnList}).") { Rule = "noPromptColumn", Args = [ColumnList] });
        if (problems.Count > 0)
            return ([], problems);

        var lines = new List<BatchLine>();
        foreach (var (line, fields) in records.Skip(1))
        {
            string? Get(string column)
            {
                int c = names.IndexOf(column);
                return c < 0 || c >= fields.Count || fields[c].Trim().Length == 0 ? null : fields[c].Trim();
            }
            if (fields.Count > names.Count)
                problems.Add(new(line, $"column {names.Count + 1}", $"the row has {fields.Count} fields but the header names {names.Count}.") { Rule = "extraFields", Args = [fields.Count, names.Count] });
            int before = problems.Count;
            var prompt = Get("prompt");
            if (prompt is null)
                problems.Add(new(line, "prompt", "the prompt is required and must not be blank.") { Rule = "required" });
            else if (prompt.Length > GenerationLimits.MaxPromptChars)
                problems.Add(PromptTooLong(line, prompt));
            long? seed = null;
            if (Get("seed") is { } s)
            {
                if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v is >= GenerationLimits.MinSeed and <= GenerationLimits.MaxSeed)
                    seed = v;
                else
                    problems.Add(new(line, "seed", $"seed must be a whole number between {GenerationLimits.MinSeed} and {GenerationLimits.MaxSeed} (got '{s}').")
                    {
                        Rule = "range",
                        Args = [GenerationLimits.MinSeed, GenerationLimits.MaxSeed],
                    });
            }
            int? Side(string column)
            {
                if (Get(column) is not { } raw)
                    return null;
                if (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                    && v is >= GenerationLimits.MinSide and <= GenerationLimits.MaxSide && v % GenerationLimits.SideMultiple == 0)
                    return v;
                problems.Add(new(line, column, $"{column} must be a multiple of {GenerationLimits.SideMultiple} between {GenerationLimits.MinSide} and {GenerationLimits.MaxSide} (got '{raw}').")
                {
                    Rule = "side",
                    Args = [GenerationLimits.SideMultiple, GenerationLimits.MinSide, GenerationLimits.MaxSide],
                });
                return null;
            }
            var width = Side("width");
            var height = Side("height");
            if (problems.Count == before)
                lines.Add(new BatchLine(line, prompt!, Get("negative"), seed, width, height, Get("style")));
        }
        return Finish(lines, problems);
    }

    private static string ColumnList => string.Join(", ", Columns);

    private static BatchLineProblem PromptTooLong(int line, string prompt) =>
        new(line, "prompt", $"the prompt must be at most {GenerationLimits.MaxPromptChars:N0} characters (got {prompt.Length:N0}).")
        {
            Rule = "tooLong",
            Args = [GenerationLimits.MaxPromptChars],
        };

    private static (IReadOnlyList<BatchLine>, IReadOnlyList<BatchLineProblem>) Finish(List<BatchLine> lines, List<BatchLineProblem> problems)
    {
        if (lines.Count == 0 && problems.Count == 0)
            problems.Add(new(1, "prompt", "the list has no prompts.") { Rule = "noPrompts" });
        if (lines.Count > MaxLines)
            problems.Add(new(lines[MaxLines].Line, "prompt", $"a batch holds at most {MaxLines:N0} prompts (got {lines.Count:N0}).") { Rule = "tooManyPrompts", Args = [MaxLines] });
        return (lines, problems);
    }
}

/// <summary>One job of a batch: the line it came from, its settings (style applied, seed resolved or random).</summary>
public sealed record BatchItem(int Line, GenerationRequest Settings, SeedPolicy SeedPolicy);

/// <summary>Lines × styles, each a job of <c>picturesPerPrompt</c> pictures.</summary>
public static class BatchPlan
{
    public const int MaxJobs = 10_000;

    /// <param name="styles">Style ids to apply to every line without its own; empty: none.</param>
    /// <param name="applyStyle">Adds a style's fragments (or names the unknown style).</param>
    public static (IReadOnlyList<BatchItem> Items, IReadOnlyList<BatchLineProblem> Problems) Expand(IReadOnlyList<BatchLine> lines,
        IReadOnlyList<string> styles, int picturesPerPrompt, GenerationRequest defaults, Func<GenerationRequest, (GenerationRequest, ValidationProblem?)> applyStyle)
    {
        var items = new List<BatchItem>();
        var problems = new List<BatchLineProblem>();
        if (picturesPerPrompt is < GenerationLimits.MinCount or > GenerationLimits.MaxCount)
            return ([], [new(0, "picturesPerPrompt", $"picturesPerPrompt must be between {GenerationLimits.MinCount} and {GenerationLimits.MaxCount} (got {picturesPerPrompt}).")
            {
                Rule = "range",
                Args = [GenerationLimits.MinCount, GenerationLimits.MaxCount],
            }]);
        foreach (var line in lines)
        {
            IReadOnlyList<string> lineStyles = line.Style is { } own ? [own] : styles.Count > 0 ? styles : [""];
            foreach (var style in lineStyles)
            {
                var settings = defaults with
                {
                    Prompt = line.Prompt,
                    NegativePrompt = line.Negative ?? defaults.NegativePrompt,
                    Seed = line.Seed ?? 0,
                    Width = line.Width ?? defaults.Width,
                    Height = line.Height ?? defaults.Height,
                    Count = picturesPerPrompt,
                    Style = style,
                };
                var (styled, problem) = applyStyle(settings);
                if (problem is not null)
                {
                    problems.Add(BatchLineProblem.Of(line.Line, problem));
                    continue;
                }
                foreach (var p in styled.Validate())
                    problems.Add(BatchLineProblem.Of(line.Line, p));
                items.Add(new BatchItem(line.Line, styled, line.Seed is null ? SeedPolicy.Random : SeedPolicy.Fixed));
            }
        }
        if (items.Count > MaxJobs)
            problems.Add(new(0, "styles", $"a batch makes at most {MaxJobs:N0} jobs (prompts × styles; got {items.Count:N0}).") { Rule = "tooManyJobs", Args = [MaxJobs] });
        return (problems.Count == 0 ? items : [], problems);
    }
}
