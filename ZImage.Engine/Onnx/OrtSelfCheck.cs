using System.Diagnostics;

namespace ZImage.Engine.Onnx;

public sealed record OrtSelfCheckResult(
    ExecutionProvider Provider,
    int Size,
    double MaxAbsError,
    double Tolerance,
    TimeSpan FirstRun,
    TimeSpan WarmRun,
    DeviceMemory DeviceOutputLocation,
    double DeviceChainMaxAbsError)
{
    public bool Passed => MaxAbsError <= Tolerance && DeviceChainMaxAbsError <= Tolerance;
}

/// <summary>What <see cref="OrtSelfCheck.MeasureSessionCycles"/> saw.</summary>
public sealed record SessionCycleResult(int Cycles, TimeSpan Elapsed, long ResidentBefore, long ResidentAfter, long LiveObjectsBefore, long LiveObjectsAfter)
{
    public long Growth => ResidentAfter - ResidentBefore;
}

/// <summary>
/// Proves a provider end to end: a size×size MatMul model written on the fly runs on it (CPU fallback disabled), its
/// result is compared with C#, and a device-resident output is fed back as the next input through IO binding.
/// </summary>
public static class OrtSelfCheck
{
    /// <summary>A model that runs long on purpose: <paramref name="nodes"/> MatMuls by the identity, x in, y out (size x size).</summary>
    internal static string WriteLongChain(string path, int nodes, int size)
    {
        var identity = new float[size * size];
        for (var i = 0; i < size; i++)
            identity[i * size + i] = 1;
        var builder = new OnnxModelBuilder()
            .Input("x", TensorElementType.Float32, size, size)
            .Initializer("I", identity, size, size);
        for (var n = 0; n < nodes; n++)
            builder.Node("MatMul", [n == 0 ? "x" : $"h{n}", "I"], [n == nodes - 1 ? "y" : $"h{n + 1}"]);
        return builder.Output("y", TensorElementType.Float32, size, size).Save(path);
    }

    /// <summary>
    /// Resident memory across <paramref name="cycles"/> session lifetimes after <paramref name="warmup"/> of them: each
    /// opens a session on a 4x3 linear model, runs it plainly and through an IO binding, and disposes everything. The
    /// warm-up pays once for ORT's and glibc's pools, the JIT and the type caches. Also counts the native objects still
    /// alive, which must come back to where they started. A soak figure for docs/reliability.md, not a unit test: on
    /// a shared machine resident memory moves with the neighbours (ZImage.Tools session-soak prints it).
    /// </summary>
    public static SessionCycleResult MeasureSessionCycles(OrtRuntime runtime, int warmup = 100, int cycles = 1000)
    {
        var directory = Directory.CreateTempSubdirectory("zimage-ort-cycles-");
        try
        {
            var model = new OnnxModelBuilder()
                .Input("features", TensorElementType.Float32, "batch", 4)
                .Initializer("W", new float[12], 4, 3)
                .Initializer("b", new float[3], 3)
                .Node("MatMul", ["features", "W"], ["product"])
                .Node("Add", ["product", "b"], ["scores"])
                .Output("scores", TensorElementType.Float32, "batch", 3)
                .Save(Path.Combine(directory.FullName, "linear.onnx"));
            for (var i = 0; i < warmup; i++)
                SessionCycle(runtime, model);
            var (residentBefore, liveBefore) = (ResidentBytes(), OrtObjects.LiveCount);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < cycles; i++)
                SessionCycle(runtime, model);
            var elapsed = clock.Elapsed;
            return new SessionCycleResult(cycles, elapsed, residentBefore, ResidentBytes(), liveBefore, OrtObjects.LiveCount);
        }
        finally
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Open a session, run it plainly and through a binding, dispose everything (the lifetime tests count its objects).</summary>
    internal static void SessionCycle(OrtRuntime runtime, string model)
    {
        using var session = runtime.OpenSession(model, new InferenceSessionOptions { IntraOpThreads = 1 });
        using var input = Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4);
        using var outputs = session.Run(new Dictionary<string, Tensor> { ["features"] = input });
        using var binding = session.CreateBinding();
        using var scratch = session.AllocateTensor(TensorElementType.Float32, [1, 3]);
        binding.BindInput("features", input);
        binding.BindOutput("scores", scratch);
        binding.Run();
    }

    /// <summary>This process's resident set after a full collection (Linux: /proc/self/statm's second field, in pages).</summary>
    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    /// <summary>
    /// How long a run goes on after its token is cancelled from another thread: a chain of <paramref name="nodes"/>
    /// MatMuls (long enough to still be running at the cancel) on one CPU thread, cancelled after 300 ms. ORT checks
    /// the terminate flag before each node, so this is about one node's time. The goal is under 100 ms.
    /// </summary>
    public static TimeSpan MeasureCancelDelay(OrtRuntime runtime, int nodes = 4000, int size = 512)
    {
        var directory = Directory.CreateTempSubdirectory("zimage-ort-cancel-");
        try
        {
            var model = WriteLongChain(Path.Combine(directory.FullName, "chain.onnx"), nodes, size);

            using var session = runtime.OpenSession(model, new InferenceSessionOptions { IntraOpThreads = 1 });
            using var x = Tensor.Create(new float[size * size], size, size);
            using var cts = new CancellationTokenSource();
            long cancelledAt = 0;
            using var stamp = cts.Token.Register(() => Interlocked.Exchange(ref cancelledAt, Stopwatch.GetTimestamp()));
            var run = Task.Run(() => session.Run(new Dictionary<string, Tensor> { ["x"] = x }, cancellationToken: cts.Token));
            cts.CancelAfter(TimeSpan.FromMilliseconds(300));
            try
            {
                run.GetAwaiter().GetResult().Dispose();
                throw new InvalidOperationException($"the {nodes}-node run finished before the cancel; use more nodes");
            }
            catch (OperationCanceledException)
            {
            }
            return Stopwatch.GetElapsedTime(Interlocked.Read(ref cancelledAt));
        }
        finally
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public static OrtSelfCheckResult Run(OrtRuntime runtime, ExecutionProvider provider, int size, int deviceId = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 8192);
        var directory = Directory.CreateTempSubdirectory("zimage-ort-check-");
        try
        {
            var model = new OnnxModelBuilder()
                .Input("A", TensorElementType.Float32, size, size)
                .Input("B", TensorElementType.Float32, size, size)
                .Node("MatMul", ["A", "B"], ["C"])
                .Output("C", TensorElementType.Float32, size, size)
                .Save(Path.Combine(directory.FullName, "matmul.onnx"));

            // TF32 would trade precision for speed; the check compares against float32 arithmetic.
            var providerOptions = provider == ExecutionProvider.Cuda
                ? new Dictionary<string, string> { ["use_tf32"] = "0" }
                : new Dictionary<string, string>();
            using var session = runtime.OpenSession(model, new InferenceSessionOptions
            {
                Provider = provider,
                DeviceId = deviceId,
                ProviderOptions = providerOptions,
            });

            var random = new Random(20251122);
            var a = RandomMatrix(random, size);
            var b = RandomMatrix(random, size);
            var expected = Multiply(a, b, size);
            using var tensorA = Tensor.Create(a, size, size);
            using var tensorB = Tensor.Create(b, size, size);
            var inputs = new Dictionary<string, Tensor> { ["A"] = tensorA, ["B"] = tensorB };

            var watch = Stopwatch.StartNew();
            using (var first = session.Run(inputs))
                watch.Stop();
            var firstRun = watch.Elapsed;
            watch.Restart();
            using var warm = session.Run(inputs);
            watch.Stop();
            var maxError = MaxAbsDifference(warm[0].GetData<float>(), expected);

            // C stays in device memory and goes straight back in as A, times the identity: the result must still be A·B.
            var deviceMemory = provider switch
            {
                ExecutionProvider.Cuda or ExecutionProvider.TensorRT => DeviceMemory.Cuda,
                _ => DeviceMemory.Cpu,
            };
            using var binding = session.CreateBinding();
            binding.BindInput("A", tensorA);
            binding.BindInput("B", tensorB);
            binding.BindOutput("C", deviceMemory);
            binding.Run();
            binding.SynchronizeOutputs();
            using var onDevice = binding.GetOutputs();
            var identity = new float[size * size];
            for (var i = 0; i < size; i++)
                identity[i * size + i] = 1;
            using var tensorI = Tensor.Create(identity, size, size);
            using var chain = session.CreateBinding();
            chain.BindInput("A", onDevice[0]);
            chain.BindInput("B", tensorI);
            chain.BindOutput("C", DeviceMemory.Cpu);
            chain.Run();
            chain.SynchronizeOutputs();
            using var back = chain.GetOutputs();
            var chainError = MaxAbsDifference(back[0].GetData<float>(), expected);

            // Float32 sums of `size` products of numbers in [-1, 1] differ from the double reference by far less than
            // 1e-5 per term; a wrong kernel or a lost copy is off by whole units.
            var tolerance = 1e-5 * size;
            return new OrtSelfCheckResult(provider, size, maxError, tolerance, firstRun, watch.Elapsed, onDevice[0].Location, chainError);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static float[] RandomMatrix(Random random, int size)
    {
        var data = new float[size * size];
        for (var i = 0; i < data.Length; i++)
            data[i] = (float)(random.NextDouble() * 2 - 1);
        return data;
    }

    private static double[] Multiply(float[] a, float[] b, int size)
    {
        var result = new double[size * size];
        Parallel.For(0, size, row =>
        {
            var line = new double[size];
            for (var k = 0; k < size; k++)
            {
                double factor = a[row * size + k];
                for (var column = 0; column < size; column++)
                    line[column] += factor * b[k * size + column];
            }
            line.CopyTo(result, row * size);
        });
        return result;
    }

    private static double MaxAbsDifference(ReadOnlySpan<float> actual, double[] expected)
    {
        var max = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs(actual[i] - expected[i]);
            if (!(difference <= max))
                max = double.IsNaN(difference) ? double.PositiveInfinity : difference;
        }
        return max;
    }
}
