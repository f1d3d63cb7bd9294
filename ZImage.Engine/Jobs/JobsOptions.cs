using System.ComponentModel.DataAnnotations;

namespace ZImage.Engine.Jobs;

/// <summary>Section <c>ZImage:Jobs</c>; validated at start-up.</summary>
public sealed class JobsOptions : IValidatableObject
{
    public const string Section = "ZImage:Jobs";

    /// <summary>
    /// Everything the studio writes lives here by default: the SQLite database, settings.json, accounts, and the
    /// pictures (<see cref="OutputDirectory"/>). Relative paths are relative to the content root (ContentPaths):
    /// <c>ZImage.Web/data/</c> under <c>dotnet run --project ZImage.Web</c>, git-ignored.
    /// </summary>
    [Required]
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>Images go to <c>OutputDirectory/yyyy-MM-dd/</c>. Relative paths are relative to the content root.</summary>
    [Required]
    public string OutputDirectory { get; set; } = DefaultOutputDirectory;

    public const string DefaultDataDirectory = "data";
    /// <summary>Inside the data folder, so one folder holds everything a run leaves behind.</summary>
    public const string DefaultOutputDirectory = "data/pictures";

    /// <summary>
    /// Workers of this process; each runs one job at a time. At least one per card of ZImage:Engine:Devices (one card wants
    /// one); more than the cards take the cards in turn and share their sessions.
    /// </summary>
    [Range(1, 16)]
    public int Workers { get; set; } = 1;

    [Range(1, 1000)]
    public int MaxQueuedPerUser { get; set; } = 10;

    /// <summary>Bound on the whole queue, so a flood of users cannot grow memory without limit.</summary>
    [Range(1, 100_000)]
    public int MaxQueuedTotal { get; set; } = 1000;

    /// <summary>After an out-of-memory failure, run the job again once, one image at a time.</summary>
    public bool RetryOutOfMemoryOneImageAtATime { get; set; } = true;

    /// <summary>Images older than this are deleted (favourites never). 0 keeps everything.</summary>
    [Range(0, 36500)]
    public int RetentionDays { get; set; }

    [Range(1, 24 * 7)]
    public int RetentionCheckHours { get; set; } = 6;

    /// <summary>
    /// Seconds per denoising step at 1024x1024 used for ETAs until this box has measured any run.
    /// Measured times (stored per size) replace it after the first job.
    /// </summary>
    [Range(0.001, 600)]
    public double InitialSecondsPerStepAt1024 { get; set; } = 1.0;

    /// <summary>How often a job held for GPU memory re-checks free memory.</summary>
    [Range(50, 60_000)]
    public int MemoryHoldPollMilliseconds { get; set; } = 1000;

    /// <summary>
    /// After a card fault (its driver or provider failed, not the job) the card takes no job for this long; each further
    /// fault in a row doubles the pause up to <see cref="CardFaultBackoffMaxSeconds"/>, and a success ends the streak.
    /// </summary>
    [Range(1, 3600, ErrorMessage = "ZImage:Jobs:CardFaultBackoffSeconds must be between {1} and {2} seconds.")]
    public double CardFaultBackoffSeconds { get; set; } = 30;

    /// <summary>The longest pause of a card that keeps failing; it still tries again this often.</summary>
    [Range(1, 86_400, ErrorMessage = "ZImage:Jobs:CardFaultBackoffMaxSeconds must be between {1} and {2} seconds.")]
    public double CardFaultBackoffMaxSeconds { get; set; } = 600;

    /// <summary>
    /// How many times a job whose card failed goes back to the queue (to run on another card, or on this one after its
    /// pause) before it fails with the card's error. The same count as a re-run after a crash (<see cref="JobRecord.Restarts"/>),
    /// so a job that breaks every card runs at most this many times more.
    /// </summary>
    [Range(0, 10, ErrorMessage = "ZImage:Jobs:CardFaultRetries must be between {1} and {2}.")]
    public int CardFaultRetries { get; set; } = 2;

    public TimeSpan CardFaultBackoff => TimeSpan.FromSeconds(CardFaultBackoffSeconds);

    public TimeSpan CardFaultBackoffMax => TimeSpan.FromSeconds(CardFaultBackoffMaxSeconds);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CardFaultBackoffMaxSeconds < CardFaultBackoffSeconds)
            yield return new ValidationResult(
                $"ZImage:Jobs:CardFaultBackoffMaxSeconds ({CardFaultBackoffMaxSeconds}) must be at least ZImage:Jobs:CardFaultBackoffSeconds ({CardFaultBackoffSeconds}): the pause only grows.",
                [nameof(CardFaultBackoffMaxSeconds)]);
    }
}
