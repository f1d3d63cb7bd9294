using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ZImage.Tools.Load;

/// <summary>
/// The real app as a child process on a free loopback port: what the load driver measures and what the fault tests
/// kill. The port is chosen by Kestrel (port 0) and read back from the "Now listening on" line, so two servers
/// never race for one port. Output is kept in memory (the last lines) and in <c>server.log</c> under the data root.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "Now listening on: ";
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    private ServerProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public Uri BaseAddress { get; private set; } = default!;
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the server wrote (stdout and stderr), for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
                return string.Join('\n', _tail);
        }
    }

    /// <summary>
    /// Starts <c>ZImage.Web</c> with <paramref name="settings"/> as command-line configuration (ZImage:Jobs:DataDirectory and
    /// the like, absolute paths). <paramref name="urls"/> defaults to a free loopback port. <paramref name="contentRoot"/>
    /// (default: the app's folder) is also the working directory, as under <c>dotnet run --project ZImage.Web</c>.
    /// </summary>
    /// <paramref name="environment"/>: variables to set for the child (e.g. its own HOME, as on another machine).
    public static async Task<ServerProcess> StartAsync(string logFolder, IReadOnlyDictionary<string, string> settings,
        TimeSpan timeout, string urls = "http://127.0.0.1:0", bool waitUntilListening = true, string? contentRoot = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var appFolder = Path.GetDirectoryName(WebApp.Location)!;
        var info = ChildProcess(WebApp, contentRoot ?? appFolder);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(urls);
        info.ArgumentList.Add("--contentRoot");
        info.ArgumentList.Add(contentRoot ?? appFolder);
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            // Quiet, except the line that says which port Kestrel took.
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            ["Logging:Console:FormatterName"] = "simple",
        };
        foreach (var (key, value) in settings)
            all[key] = value;
        foreach (var (key, value) in all)
            info.ArgumentList.Add($"--{key}={value}");
        foreach (var name in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS" })
            info.Environment.Remove(name);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;

        Directory.CreateDirectory(logFolder);
        var log = new StreamWriter(Path.Combine(logFolder, "server.log"), append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new ServerProcess(process, log);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.Exited += (_, _) => server._address.TrySetException(new InvalidOperationException("the server exited before it listened"));
        if (!process.Start())
            throw new InvalidOperationException($"could not start {info.FileName}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!waitUntilListening)
            return server;

        try
        {
            var address = await server._address.Task.WaitAsync(timeout);
            server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
            await server.WaitHealthyAsync(timeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or HttpRequestException)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"The server did not start ({e.Message}). Its last output:\n{server.Tail}", e);
        }
        return server;
    }

    /// <summary>The studio's assembly (ZImage.Web.dll), which the build places beside this program.</summary>
    private static readonly System.Reflection.Assembly WebApp = typeof(Program).Assembly;

    /// <summary>
    /// <paramref name="program"/> (the studio, or these tools for scale-worker) as a child process, output redirected:
    /// under the test host or <c>dotnet X.dll</c> the process is the dotnet host, which runs the dll; under an apphost
    /// (<c>dotnet run</c>) the program's own apphost beside it. The caller adds the arguments.
    /// </summary>
    internal static ProcessStartInfo ChildProcess(System.Reflection.Assembly program, string? workingDirectory = null)
    {
        var dll = program.Location;
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null)
            info.WorkingDirectory = workingDirectory;
        var host = Environment.ProcessPath ?? "dotnet";
        var apphost = Path.Combine(Path.GetDirectoryName(dll)!, Path.GetFileNameWithoutExtension(dll));
        if (!Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase) && File.Exists(apphost))
        {
            info.FileName = apphost;
        }
        else
        {
            info.FileName = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? host : "dotnet";
            info.ArgumentList.Add(dll);
        }
        return info;
    }

    private void OnLine(string? line)
    {
        if (line is null)
            return;
        lock (_tail)
        {
            if (_closed)
                return;
            _tail.Enqueue(line);
            while (_tail.Count > 60)
                _tail.Dequeue();
            _log.WriteLine(line);
        }
        var at = line.IndexOf(ListeningPrefix, StringComparison.Ordinal);
        if (at >= 0)
            _address.TrySetResult(line[(at + ListeningPrefix.Length)..].Trim());
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var response = await client.GetAsync("healthz");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("/healthz never answered");
            await Task.Delay(50);
        }
    }

    /// <summary>Resident set size from /proc (Linux), or null where there is none or the process is gone.</summary>
    public long? ResidentBytes() => ReadResidentBytes(_process.Id);

    public static long? ReadResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the power goes or the OOM killer strikes.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Waits for the process to end by itself (a refused start).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started, or already reaped.
        }
        lock (_tail)
        {
            _closed = true;
            _log.Dispose();
        }
        _process.Dispose();
    }
}
