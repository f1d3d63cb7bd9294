using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZImage.Engine.Imaging;
using ZImage.Engine.Memory;
using ZImage.Engine.Models;
using ZImage.Engine.Onnx;
using ZImage.Engine.Sampling;
using ZImage.Engine.Text;

namespace ZImage.Engine.Pipeline;

/// <summary>
/// Z-Image-Turbo from a model folder: tokenize, encode the prompt (and the negative prompt when guidance is on),
/// denoise each image with the flow-match Euler sampler, decode with the VAE. One run at a time per instance: the
/// sessions are shared, and the GPU is better used by one job at full width than by two interleaved.
/// </summary>
public sealed class ZImagePipeline : IImagePipeline, IDisposable
{
    private readonly ModelFolder _model;
    private readonly OrtRuntime _runtime;
    private readonly InferenceSessionOptions _sessionOptions;
    private readonly InferenceSessionOptions _vaeSessionOptions;
    private readonly Func<GenerationRequest, ResidencyPolicy> _residency;
    private readonly ILogger _logger;
    private readonly Lazy<Qwen3Tokenizer> _tokenizer;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SessionSlot _textEncoder;
    private readonly SessionSlot _transformer;
    private readonly SessionSlot _vaeDecoder;

    public ZImagePipeline(ModelFolder model, OrtRuntime runtime, InferenceSessionOptions sessionOptions,
        Func<GenerationRequest, ResidencyPolicy>? residency = null, ILogger? logger = null,
        InferenceSessionOptions? vaeSessionOptions = null)
        // Residency: Resident keeps all three sessions; Lean keeps them too, but each hands its arena's free memory
        // back after its last run of a job (text encoder, final step, VAE), so their peak workspaces take turns;
        // Sequential releases each session after its stage (Auto is decided by the VRAM guard before the run and
        // arrives here as one of the three). vaeSessionOptions: the VAE decoder on another provider.
    {
        _model = model;
        _runtime = runtime;
        _sessionOptions = sessionOptions.WithShapeOpsOnCpu().WithCudaMemoryDefaults();
        var vae = vaeSessionOptions is null ? _sessionOptions : vaeSessionOptions.WithShapeOpsOnCpu().WithCudaMemoryDefaults();
        _vaeSessionOptions = vae.WithVaeLayout(model.Manifest.VaeDtype);
        _residency = residency ?? (_ => ResidencyPolicy.Resident);
        _logger = logger ?? NullLogger.Instance;
        _tokenizer = new Lazy<Qwen3Tokenizer>(() => Qwen3Tokenizer.Load(model.TokenizerPath));
        _textEncoder = new SessionSlot(this, model.TextEncoderPath, _sessionOptions);
        _transformer = new SessionSlot(this, model.TransformerPath, _sessionOptions);
        _vaeDecoder = new SessionSlot(this, model.VaeDecoderPath, _vaeSessionOptions);
    }

    public ModelFolder Model => _model;
    public ExecutionProvider Provider => _sessionOptions.Provider;
    public ExecutionProvider VaeProvider => _vaeSessionOptions.Provider;

    public Qwen3Tokenizer Tokenizer => _tokenizer.Value;

    /// <summary>Sees every image's latent after every step (image index, step index, latent); parity tests use it.</summary>
    internal Action<int, int, float[]>? StepObserver { get; set; }

    public Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress, CancellationToken ct) =>
        RunAsync(request, progress, finished: null, ct);

    public async Task<GenerationResult> RunAsync(GenerationRequest request, IProgress<GenerationProgress>? progress,
        IProgress<FinishedImage>? finished, CancellationToken ct)
    {
        var problems = request.Validate();
        if (problems.Count > 0)
            throw new ArgumentException(string.Join(" ", problems.Select(p => p.Message)), problems[0].Field);
        CheckModelLimits(request);

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // The native calls block; keep them off the caller's thread (a Blazor circuit or a request thread).
            return await Task.Run(() => Run(request, progress, noise: null, ct, finished), ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs synchronously. <paramref name="noise"/> supplies image i's initial latent (golden tests feed the
    /// reference's stored noise, since our Gaussian stream is not torch's); null draws it from seed + i.
    /// <paramref name="finished"/> gets each picture as soon as it is decoded.
    /// </summary>
    internal GenerationResult Run(GenerationRequest request, IProgress<GenerationProgress>? progress,
        Func<int, float[]>? noise, CancellationToken ct, IProgress<FinishedImage>? finished = null)
    {
        var total = Stopwatch.StartNew();
        var residency = _residency(request);
        var m = _model.Manifest;
        var latentHeight = request.Height / m.VaeScaleFactor;
        var latentWidth = request.Width / m.VaeScaleFactor;

        try
        {
            var clock = Stopwatch.StartNew();
            // The manifest says how many tokens this model's encoder reads (512 for Z-Image-Turbo).
            var positiveTokens = Tokenizer.EncodePrompt(request.Prompt, m.Tokenizer.MaxTokens);
            // The first step has the smallest timestep (0), so if guidance is off there it is off everywhere.
            var guided = Guidance.ScaleAt(request.Cfg, request.CfgTruncation, 0f) > 0f;
            var negativeTokens = guided ? Tokenizer.EncodePrompt(request.NegativePrompt, m.Tokenizer.MaxTokens) : null;
            var tokenizeTime = clock.Elapsed;

            clock.Restart();
            var lean = residency == ResidencyPolicy.Lean;
            var positive = EncodeText(positiveTokens.Ids, ct, lean && negativeTokens is null);
            var negative = negativeTokens is null ? null : EncodeText(negativeTokens.Ids, ct, lean);
            if (residency == ResidencyPolicy.Sequential)
                _textEncoder.Release();
            var textTime = clock.Elapsed;

            var schedule = FlowMatchEulerSchedule.Create(request.Steps, m.SamplerShift);
            // Step i's time summed over the images, as GenerationTimings promises (the ETA divides by the count).
            var stepTimes = new TimeSpan[request.Steps];
            // Resident: each picture is decoded as soon as it is denoised, so it is saved and shown while the next one
            // denoises. Lean and Sequential keep the stages apart (their point is that the transformer's and the VAE's
            // workspaces never meet), so their pictures come one by one after the last step.
            var decodeEach = residency == ResidencyPolicy.Resident;
            var images = new GeneratedImage?[request.Count];
            var latents = new float[]?[request.Count];
            var vaeTime = TimeSpan.Zero;
            long nonFinite = 0;
            for (var image = 0; image < request.Count; image++)
            {
                ct.ThrowIfCancellationRequested();
                var latent = noise?.Invoke(image)
                    ?? GaussianNoise.Create(request.Seed + image, m.LatentChannels, latentHeight, latentWidth);
                Denoise(latent, latentHeight, latentWidth, positive, negative, request, schedule, image, stepTimes, total, progress, ct,
                    releaseAfterLastStep: lean && image == request.Count - 1);
                nonFinite += CountNonFinite(latent);
                latents[image] = latent;
                if (decodeEach)
                    DecodeAndReport(image);
            }
            if (residency == ResidencyPolicy.Sequential)
                _transformer.Release();

            for (var image = 0; image < request.Count; image++)
            {
                if (images[image] is null)
                    DecodeAndReport(image);
            }
            if (residency == ResidencyPolicy.Sequential)
                _vaeDecoder.Release();

            void DecodeAndReport(int image)
            {
                ct.ThrowIfCancellationRequested();
                var decodeClock = Stopwatch.StartNew();
                var picture = new GeneratedImage(Decode(latents[image]!, latentHeight, latentWidth, ref nonFinite, ct,
                    releaseAfter: lean && image == request.Count - 1), request.Seed + image);
                vaeTime += decodeClock.Elapsed;
                images[image] = picture;
                latents[image] = null;
                finished?.Report(new FinishedImage(image, picture, m.ModelName, m.SamplerShift));
            }

            if (nonFinite > 0)
                _logger.LogWarning("{Count} NaN or infinite values in the final latents and decoded images", nonFinite);
            return new GenerationResult([.. images.Select(i => i!)], positiveTokens.Truncated,
                new GenerationTimings(tokenizeTime, textTime, stepTimes, vaeTime, total.Elapsed))
            {
                NonFiniteValues = nonFinite,
                ModelName = m.ModelName,
                SamplerShift = m.SamplerShift,
            };
        }
        catch (OnnxRuntimeException e) when (OrtFailures.IsOutOfMemory(e))
        {
            // Memory the failed run held must go back before the next job, whatever the residency.
            ReleaseAll();
            throw new GpuOutOfMemoryException(
                $"The GPU ran out of memory at {request.Width}x{request.Height} x{request.Count}: {e.Message}", e);
        }
        catch (OperationCanceledException)
        {
            if (residency == ResidencyPolicy.Sequential)
                ReleaseAll();
            throw;
        }
    }

    /// <summary>Caption features <c>[L, hidden]</c> (row-major) for the given ids: the decoder's second-to-last hidden state.</summary>
    internal float[] EncodeText(int[] ids, CancellationToken ct, bool releaseAfter = false)
    {
        var inputIds = new long[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            inputIds[i] = ids[i];
        using var input = Tensor.Create(inputIds, 1, ids.Length);
        using var outputs = _textEncoder.Session.Run(new Dictionary<string, Tensor> { ["input_ids"] = input }, ["hidden_states"], ct, releaseAfter ? _textEncoder.ShrinkConfig : null);
        return outputs[0].ToArray<float>();
    }

    /// <summary>The sampler loop for one image, in place on <paramref name="latent"/> (<c>[C, h, w]</c>).</summary>
    internal void Denoise(float[] latent, int latentHeight, int latentWidth, float[] positive, float[]? negative,
        GenerationRequest request, FlowMatchEulerSchedule schedule, int imageIndex, TimeSpan[] stepTimes,
        Stopwatch total, IProgress<GenerationProgress>? progress, CancellationToken ct, bool releaseAfterLastStep = false)
    {
        var m = _model.Manifest;
        var shape = new long[] { 1, m.LatentChannels, latentHeight, latentWidth };
        var captionDim = m.CaptionDim;
        using var positiveCaption = Tensor.Create(positive, positive.Length / captionDim, captionDim);
        using var negativeCaption = negative is null ? null : Tensor.Create(negative, negative.Length / captionDim, captionDim);
        var guided = new float[latent.Length];
        var clock = new Stopwatch();

        for (var step = 0; step < schedule.Steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            clock.Restart();
            var timestep = schedule.Timestep(step);
            var scale = Guidance.ScaleAt(request.Cfg, request.CfgTruncation, timestep);

            var releaseAfter = releaseAfterLastStep && step == schedule.Steps - 1;
            var output = Forward(latent, shape, timestep, positiveCaption, releaseAfter, ct);
            if (scale > 0f && negativeCaption is not null)
            {
                var negativeOut = Forward(latent, shape, timestep, negativeCaption, releaseAfter, ct);
                Guidance.Combine(output, negativeOut, scale, request.CfgNormalization, guided);
                output = guided;
            }
            // The preview shows where this step says the picture is heading (the denoised estimate), not the latent itself:
            // early latents are mostly noise. It is taken before the step moves the latent, at this step's sigma; this
            // thread only computes it (a fresh copy each step), whoever shows the step renders it.
            var estimate = progress is null ? null : new float[latent.Length];
            if (estimate is not null)
                schedule.PredictDenoisedFromModelOutput(step, latent, output, estimate);
            schedule.StepWithModelOutput(step, latent, output);
            stepTimes[step] += clock.Elapsed;
            StepObserver?.Invoke(imageIndex, step, latent);

            if (progress is not null)
                progress.Report(new GenerationProgress(imageIndex, request.Count, step + 1, schedule.Steps, total.Elapsed,
                    PreviewPicture.FromLatent(estimate!, latentHeight, latentWidth)));
        }
    }

    private float[] Forward(float[] latent, long[] shape, float timestep, Tensor caption, bool releaseAfter, CancellationToken ct)
    {
        using var latentTensor = Tensor.Create(latent, shape);
        using var time = Tensor.Create(new[] { timestep }, 1);
        using var outputs = _transformer.Session.Run(new Dictionary<string, Tensor>
        {
            ["latent"] = latentTensor,
            ["timestep"] = time,
            ["caption"] = caption,
        }, ["model_out"], ct, releaseAfter ? _transformer.ShrinkConfig : null);
        return outputs[0].ToArray<float>();
    }

    /// <summary>VAE decode of a final latent to 8-bit RGB: <c>clamp(x / 2 + 0.5, 0, 1) * 255</c>, rounded.</summary>
    internal RgbImage Decode(float[] latent, int latentHeight, int latentWidth, ref long nonFinite, CancellationToken ct, bool releaseAfter = false)
    {
        var m = _model.Manifest;
        var input = latent;
        if (!m.VaeScalingInGraph)
        {
            input = new float[latent.Length];
            var scaling = (float)m.VaeScalingFactor;
            var shift = (float)m.VaeShiftFactor;
            for (var i = 0; i < latent.Length; i++)
                input[i] = latent[i] / scaling + shift;
        }
        using var tensor = Tensor.Create(input, 1, m.LatentChannels, latentHeight, latentWidth);
        using var outputs = _vaeDecoder.Session.Run(new Dictionary<string, Tensor> { ["latent"] = tensor }, ["image"], ct, releaseAfter ? _vaeDecoder.ShrinkConfig : null);
        var image = outputs[0];
        var height = checked((int)image.Shape[2]);
        var width = checked((int)image.Shape[3]);
        nonFinite += CountNonFinite(image.GetData<float>());
        return ToRgb(image.GetData<float>(), height, width);
    }

    private static long CountNonFinite(ReadOnlySpan<float> values)
    {
        long count = 0;
        foreach (var v in values)
            if (!float.IsFinite(v))
                count++;
        return count;
    }

    /// <summary>Planar <c>[3, H, W]</c> in [-1, 1] to interleaved RGB bytes, as the reference's image processor does.</summary>
    internal static RgbImage ToRgb(ReadOnlySpan<float> planar, int height, int width)
    {
        var plane = height * width;
        var pixels = new byte[plane * 3];
        for (var c = 0; c < 3; c++)
        {
            var source = planar.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                var v = Math.Clamp(source[i] / 2f + 0.5f, 0f, 1f) * 255f;
                pixels[i * 3 + c] = (byte)MathF.Round(v, MidpointRounding.ToEven);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    private void CheckModelLimits(GenerationRequest request)
    {
        var m = _model.Manifest;
        if (request.Width % m.SizeMultiple != 0 || request.Height % m.SizeMultiple != 0)
            throw new ArgumentException($"width and height must be multiples of {m.SizeMultiple} for this model (got {request.Width}x{request.Height}).", "width");
        var maxSide = m.MaxLatentSide * m.VaeScaleFactor;
        if (request.Width > maxSide || request.Height > maxSide)
            throw new ArgumentException($"width and height must be at most {maxSide} for this model (got {request.Width}x{request.Height}).", request.Width > maxSide ? "width" : "height");
    }

    private void ReleaseAll()
    {
        _textEncoder.Release();
        _transformer.Release();
        _vaeDecoder.Release();
    }

    public void Dispose()
    {
        _disposed = true;
        ReleaseAll();
    }

    /// <summary>How many of the three sessions are open now (0 after dispose).</summary>
    internal int OpenSessionCount => (_textEncoder.IsOpen ? 1 : 0) + (_transformer.IsOpen ? 1 : 0) + (_vaeDecoder.IsOpen ? 1 : 0);

    private volatile bool _disposed;

    /// <summary>A session opened on first use and released on demand (sequential residency, after OOM, on dispose).</summary>
    private sealed class SessionSlot(ZImagePipeline owner, string path, InferenceSessionOptions options)
    {
        private InferenceSession? _session;

        public bool IsOpen => _session is not null;

        /// <summary>The run config that hands this session's arena back after its run; Lean residency passes it on the last run of each stage.</summary>
        public IReadOnlyDictionary<string, string>? ShrinkConfig { get; } = options.ArenaShrinkRunConfig;

        public InferenceSession Session
        {
            get
            {
                ObjectDisposedException.ThrowIf(owner._disposed, owner);
                if (_session is null)
                {
                    var clock = Stopwatch.StartNew();
                    _session = owner._runtime.OpenSession(path, options);
                    owner._logger.LogInformation("Loaded {Model} on {Provider} in {Seconds:F1} s", path, options.Provider, clock.Elapsed.TotalSeconds);
                }
                return _session;
            }
        }

        public void Release()
        {
            _session?.Dispose();
            _session = null;
        }
    }
}
