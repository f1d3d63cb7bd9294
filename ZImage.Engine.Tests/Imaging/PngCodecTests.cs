using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ZImage.Engine.Imaging;

namespace ZImage.Engine.Tests.Imaging;

public class PngCodecTests
{
    private static readonly ImageSettings Settings = new()
    {
        Request = new()
        {
            Prompt = "a lighthouse at dusk, 灯塔, \"quoted\", colon: yes",
            NegativePrompt = "blurry, low quality",
            Width = 1152,
            Height = 896,
            Steps = 9,
            Cfg = 4.5f,
            CfgTruncation = 0.8f,
            CfgNormalization = 1.2f,
            Seed = 4_000_000_000,
        },
        Model = "Z-Image-Turbo",
    };

    [Fact]
    public void RoundTripKeepsPixelsAndBothChunks()
    {
        var image = TestImages.Photo(61, 37);

        var png = PngCodec.Decode(GenerationPng.Encode(image, Settings));

        Assert.Equal(61, png.Image.Width);
        Assert.Equal(37, png.Image.Height);
        Assert.Equal(image.Pixels, png.Image.Pixels);
        Assert.Equal(Settings, ImageSettings.FromJson(png.FindText(GenerationPng.SettingsKeyword)!));
        var parameters = GenerationParameters.ParseA1111(png.FindText(GenerationPng.ParametersKeyword)!);
        Assert.Equal(Settings.Request.Prompt, parameters.Prompt);
        Assert.Equal(9, parameters.Steps);
        Assert.Equal(4_000_000_000, parameters.Seed);
    }

    [Fact]
    public void SettingsComeBackFromASavedFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"zimage-{Guid.NewGuid():N}.png");
        try
        {
            GenerationPng.Save(path, TestImages.Photo(16, 16), Settings);

            using var file = File.OpenRead(path);
            Assert.Equal(Settings, GenerationPng.ReadSettings(file));
            file.Position = 0;
            var parameters = GenerationPng.ReadParameters(file)!;
            Assert.Equal(Settings.ToRequest(), parameters.ApplyTo(new GenerationRequest { Prompt = "" }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ALatin1PromptIsWrittenAsTExtAndOthersAsITxt()
    {
        var latin = PngCodec.Encode(TestImages.Solid(2, 2, 1, 2, 3), [new PngText("parameters", "café au lait")]);
        var cjk = PngCodec.Encode(TestImages.Solid(2, 2, 1, 2, 3), [new PngText("parameters", "灯塔")]);

        Assert.True(Contains(latin, "tEXtparameters"));
        Assert.True(Contains(cjk, "iTXtparameters"));
        Assert.Equal("café au lait", PngCodec.Decode(latin).FindText("parameters"));
        Assert.Equal("灯塔", PngCodec.Decode(cjk).FindText("parameters"));
    }

    [RequiresPython3Fact]
    public void PythonZlibReaderDecodesOurPngToTheSamePixels()
    {
        var image = TestImages.Photo(97, 41, seed: 5);
        var folder = Directory.CreateTempSubdirectory("zimage-png-");
        try
        {
            var pngPath = Path.Combine(folder.FullName, "x.png");
            var rgbPath = Path.Combine(folder.FullName, "x.rgb");
            GenerationPng.Save(pngPath, image, Settings);

            var script = Path.Combine(TestImages.RepositoryRoot(), "tools", "png-check", "decode_png.py");
            var (exit, stdout, stderr) = Run("python3", script, pngPath, rgbPath);

            Assert.True(exit == 0, $"decode_png.py failed ({exit}): {stderr}");
            Assert.Equal(image.Pixels, File.ReadAllBytes(rgbPath));
            using var report = JsonDocument.Parse(stdout);
            Assert.Equal(97, report.RootElement.GetProperty("width").GetInt32());
            var texts = report.RootElement.GetProperty("text").EnumerateArray().ToDictionary(t => t[0].GetString()!, t => t[1].GetString()!);
            Assert.Equal(Settings, ImageSettings.FromJson(texts[GenerationPng.SettingsKeyword]));
            Assert.StartsWith(Settings.Request.Prompt, texts[GenerationPng.ParametersKeyword]);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [RequiresPython3Fact]
    public void PythonZlibReaderDecodesAnImageDeflatedInSeveralBands()
    {
        // 400 RGB pixels a row: 1201 filtered bytes, so 109 rows a band and this image spans four bands.
        var image = TestImages.Photo(400, 330, seed: 9);
        Assert.True(330 * 1201 > 3 * PngImageData.BandBytes);
        var folder = Directory.CreateTempSubdirectory("zimage-png-");
        try
        {
            var pngPath = Path.Combine(folder.FullName, "bands.png");
            var rgbPath = Path.Combine(folder.FullName, "bands.rgb");
            File.WriteAllBytes(pngPath, PngCodec.Encode(image));

            var script = Path.Combine(TestImages.RepositoryRoot(), "tools", "png-check", "decode_png.py");
            var (exit, _, stderr) = Run("python3", script, pngPath, rgbPath);

            // zlib.decompress also checks the combined Adler-32 of the joined bands.
            Assert.True(exit == 0, $"decode_png.py failed ({exit}): {stderr}");
            Assert.Equal(image.Pixels, File.ReadAllBytes(rgbPath));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void BandsDeflatedInParallelGiveTheSameBytesAsOneThread()
    {
        var image = TestImages.Photo(512, 300, seed: 3);

        var parallel = PngImageData.Compress(image, parallel: true);
        var serial = PngImageData.Compress(image, parallel: false);

        Assert.Equal(serial, parallel);
        Assert.Equal(image.Pixels, PngCodec.Decode(PngCodec.Encode(image)).Image.Pixels);
    }

    [Fact]
    public void EveryZlibLevelDecodesToTheSamePixels()
    {
        var image = TestImages.Photo(300, 250, seed: 4);
        foreach (var level in new[] { 0, 1, 2, 6, 9 })
        {
            var png = PngCodec.Decode(PngCodec.Encode(image, null, level));
            Assert.True(image.Pixels.AsSpan().SequenceEqual(png.Image.Pixels), $"zlib level {level} changed the pixels");
        }
    }

    [Fact]
    public void Adler32MatchesTheStandardValueAndCombinesAcrossBands()
    {
        Assert.Equal(0x11E60398u, PngImageData.Adler32("Wikipedia"u8));
        var data = new byte[100_000];
        new Random(7).NextBytes(data);

        var combined = PngImageData.CombineAdler32(PngImageData.Adler32(data.AsSpan(0, 31_337)), PngImageData.Adler32(data.AsSpan(31_337)), data.Length - 31_337);

        Assert.Equal(PngImageData.Adler32(data), combined);
    }

    // value(x, y, channel) = (x * 37 + y * 11 + channel * 71) % 256: the formula tools/png-check/make_fixtures.py used.
    private static byte Value(int x, int y, int channel) => (byte)((x * 37 + y * 11 + channel * 71) % 256);

    public static TheoryData<string, Func<int, int, int, byte>> ForeignPngs => new()
    {
        { "rgb-text.png", Value },
        { "rgba.png", Value },
        { "gray.png", (x, y, _) => Value(x, y, 0) },
        { "gray-alpha.png", (x, y, _) => Value(x, y, 0) },
        { "palette.png", (x, y, c) => (byte)((x + 2 * y) % 16 * (3 + 2 * c) % 256) },
    };

    [Theory]
    [MemberData(nameof(ForeignPngs))]
    public void ReadsPngsWrittenByAnotherEncoder(string file, Func<int, int, int, byte> expected)
    {
        var png = PngCodec.Decode(File.ReadAllBytes(TestImages.FixturePath("png", file)));

        Assert.Equal((7, 6), (png.Image.Width, png.Image.Height));
        for (var y = 0; y < 6; y++)
            for (var x = 0; x < 7; x++)
                for (var c = 0; c < 3; c++)
                    Assert.True(expected(x, y, c) == png.Image.Pixels[(y * 7 + x) * 3 + c], $"{file} pixel ({x}, {y}) channel {c}");
    }

    [Fact]
    public void ReadsTExtZTxtAndCompressedITxt()
    {
        using var file = File.OpenRead(TestImages.FixturePath("png", "rgb-text.png"));
        var text = PngCodec.ReadText(file);

        Assert.Equal(["Software", "parameters", "Comment", "Title"], text.Select(t => t.Keyword));
        Assert.Equal("zipped latin-1: café", text[2].Text);
        Assert.Equal("compressed UTF-8: 猫", text[3].Text);
        var parameters = GenerationParameters.ParseA1111(text[1].Text);
        Assert.Equal("a castle on a hill, 雪", parameters.Prompt);
        Assert.Equal((7, 6), (parameters.Width, parameters.Height));
    }

    [Theory]
    [InlineData("rgb-16bit.png", "bit depth 16")]
    [InlineData("rgb-interlaced.png", "interlaced")]
    public void UnsupportedFormatsAreRefusedByName(string file, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(File.ReadAllBytes(TestImages.FixturePath("png", file))));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ATruncatedFileSaysSo()
    {
        var png = PngCodec.Encode(TestImages.Photo(20, 20));
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png[..(png.Length / 2)]));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void ADamagedChunkFailsItsCrc()
    {
        var png = PngCodec.Encode(TestImages.Photo(20, 20));
        png[40] ^= 0x55; // inside the first IDAT's data
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png));
        Assert.Contains("CRC", e.Message);
    }

    [Fact]
    public void NotAPngSaysSo()
    {
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(Encoding.ASCII.GetBytes("GIF89a....")));
        Assert.Contains("signature", e.Message);
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.ASCII.GetBytes(needle)) >= 0;

    private static (int Exit, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill();
            throw new TimeoutException($"{file} did not finish within 60 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that is skipped, with the reason shown, when python3 is not on PATH.</summary>
public sealed class RequiresPython3FactAttribute : FactAttribute
{
    public RequiresPython3FactAttribute()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, "python3")) || File.Exists(Path.Combine(dir, "python3.exe")));
        if (!found)
            Skip = "python3 is not on PATH, so the independent PNG reader (tools/png-check/decode_png.py) cannot run.";
    }
}
