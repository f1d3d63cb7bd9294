using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace ZImage.Engine.Text;

/// <summary>
/// Byte-level BPE over a HuggingFace tokenizer.json of the Qwen2/Qwen3 family, producing the ids HuggingFace
/// <c>tokenizers</c> produces: added tokens are cut out of the raw text first (leftmost-longest), the rest is
/// NFC-normalised, split by the Qwen2 pre-tokenizer, mapped byte-to-unicode and merged by rank.
/// Immutable after loading and safe to share between threads; the piece cache is concurrent.
/// </summary>
public sealed class Qwen3Tokenizer
{
    // The piece cache makes the UI's live counter cheap; the cap keeps a hostile prompt stream from growing it forever.
    private const int PieceCacheLimit = 100_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _idToToken;
    private readonly Dictionary<long, Merge> _merges;
    private readonly int[] _byteToId = new int[256];
    private readonly AddedToken[] _addedTokens;
    private readonly bool _nfc;
    private readonly ConcurrentDictionary<string, int[]> _pieceCache = new(StringComparer.Ordinal);

    private readonly record struct Merge(int Rank, int Id);

    private sealed record AddedToken(string Content, int Id, bool Special);

    private Qwen3Tokenizer(Dictionary<string, int> vocab, Dictionary<long, Merge> merges, AddedToken[] addedTokens, bool nfc)
    {
        _vocab = vocab;
        _merges = merges;
        _addedTokens = addedTokens;
        _nfc = nfc;

        var maxId = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max(), addedTokens.Length == 0 ? 0 : addedTokens.Max(t => t.Id));
        _idToToken = new string[maxId + 1];
        foreach (var (token, id) in vocab)
            _idToToken[id] = token;
        foreach (var t in addedTokens)
            _idToToken[t.Id] = t.Content;

        for (var b = 0; b < 256; b++)
        {
            var symbol = ByteLevel.ByteToChar[b].ToString();
            if (!vocab.TryGetValue(symbol, out _byteToId[b]))
                throw new InvalidDataException($"tokenizer.json: the vocabulary lacks the byte-level symbol for byte 0x{b:X2} ('{symbol}'), so some text could not be encoded.");
        }
    }

    /// <summary>Largest id plus one, added tokens included (151,669 for Qwen3; the model's embedding has 151,936 rows).</summary>
    public int VocabularySize => _idToToken.Length;

    /// <summary>The id of an added (special) token such as <c>&lt;|im_end|&gt;</c>.</summary>
    public int AddedTokenId(string content) =>
        Array.Find(_addedTokens, t => t.Content == content)?.Id
        ?? throw new KeyNotFoundException($"tokenizer.json has no added token '{content}'.");

    public static Qwen3Tokenizer Load(string tokenizerJsonPath)
    {
        if (!File.Exists(tokenizerJsonPath))
            throw new FileNotFoundException($"tokenizer.json not found at '{tokenizerJsonPath}'.", tokenizerJsonPath);
        using var stream = File.OpenRead(tokenizerJsonPath);
        try
        {
            return Load(stream);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{tokenizerJsonPath}' is not valid JSON: {e.Message}", e);
        }
    }

    public static Qwen3Tokenizer Load(Stream tokenizerJson)
    {
        using var doc = JsonDocument.Parse(tokenizerJson, new JsonDocumentOptions { MaxDepth = 256 });
        var root = doc.RootElement;

        var nfc = ReadNormalizer(root);
        CheckPreTokenizer(root);

        var model = Required(root, "model");
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
            throw new InvalidDataException($"tokenizer.json: model.type must be \"BPE\" (got \"{type}\").");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new InvalidDataException("tokenizer.json: model.byte_fallback=true is not supported (byte-level BPE needs no fallback).");
        foreach (var affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(affix, out var a) && a.ValueKind == JsonValueKind.String && a.GetString()!.Length > 0)
                throw new InvalidDataException($"tokenizer.json: model.{affix} must be empty for byte-level BPE (got \"{a.GetString()}\").");
        }

        var vocabJson = Required(model, "vocab");
        var vocab = new Dictionary<string, int>(vocabJson.EnumerateObject().Count(), StringComparer.Ordinal);
        foreach (var entry in vocabJson.EnumerateObject())
            vocab[entry.Name] = entry.Value.GetInt32();

        var mergesJson = Required(model, "merges");
        var merges = new Dictionary<long, Merge>(mergesJson.GetArrayLength());
        var rank = 0;
        foreach (var m in mergesJson.EnumerateArray())
        {
            string left, right;
            if (m.ValueKind == JsonValueKind.Array)
            {
                left = m[0].GetString()!;
                right = m[1].GetString()!;
            }
            else
            {
                // Older tokenizer.json files spell a merge as one "left right" string.
                var text = m.GetString()!;
                var space = text.IndexOf(' ', 1);
                if (space < 0)
                    throw new InvalidDataException($"tokenizer.json: merge #{rank} \"{text}\" is not \"left right\".");
                left = text[..space];
                right = text[(space + 1)..];
            }
            if (!vocab.TryGetValue(left, out var l) || !vocab.TryGetValue(right, out var r) || !vocab.TryGetValue(left + right, out var merged))
                throw new InvalidDataException($"tokenizer.json: merge #{rank} ({left} + {right}) refers to a token missing from the vocabulary.");
            // The first listing of a pair wins, as in HuggingFace.
            merges.TryAdd(PairKey(l, r), new Merge(rank, merged));
            rank++;
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in addedJson.EnumerateArray())
            {
                var content = Required(a, "content").GetString()!;
                foreach (var flag in new[] { "lstrip", "rstrip", "single_word", "normalized" })
                {
                    if (a.TryGetProperty(flag, out var f) && f.ValueKind == JsonValueKind.True)
                        throw new InvalidDataException($"tokenizer.json: added token '{content}' sets {flag}=true, which this tokenizer does not implement.");
                }
                var special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                added.Add(new AddedToken(content, Required(a, "id").GetInt32(), special));
            }
        }

        return new Qwen3Tokenizer(vocab, merges, added.ToArray(), nfc);
    }

    /// <summary>Token ids of <paramref name="text"/> exactly as given: no template, no truncation, no padding.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var ids = new List<int>(text.Length / 3 + 8);
        var pieces = new List<(int Start, int Length)>();
        var segmentStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            var token = AddedTokenAt(text, i);
            if (token is null)
            {
                i++;
                continue;
            }
            EncodeSegment(text.AsSpan(segmentStart, i - segmentStart), ids, pieces);
            ids.Add(token.Id);
            i += token.Content.Length;
            segmentStart = i;
        }
        EncodeSegment(text.AsSpan(segmentStart), ids, pieces);
        return ids.ToArray();
    }

    /// <summary>Text of the ids; added tokens appear as their content. Invalid UTF-8 from a cut-off sequence becomes U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_idToToken.Length || _idToToken[id] is not { } token)
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is not in the vocabulary (0..{_idToToken.Length - 1}).");
            if (Array.Exists(_addedTokens, t => t.Id == id))
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            else
                foreach (var c in token)
                    bytes.Add(ByteLevel.CharToByte(c));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    // HuggingFace's added-vocabulary split uses leftmost-longest matching over the raw (unnormalised) text.
    private AddedToken? AddedTokenAt(string text, int i)
    {
        AddedToken? best = null;
        foreach (var t in _addedTokens)
        {
            if ((best is null || t.Content.Length > best.Content.Length) && text.AsSpan(i).StartsWith(t.Content, StringComparison.Ordinal))
                best = t;
        }
        return best;
    }

    private void EncodeSegment(ReadOnlySpan<char> segment, List<int> ids, List<(int Start, int Length)> pieces)
    {
        if (segment.IsEmpty)
            return;
        var text = segment.ToString();
        // ASCII is always in NFC; skipping it keeps the common case free of ICU calls.
        if (_nfc && !Ascii.IsValid(text))
            text = text.Normalize(NormalizationForm.FormC);
        pieces.Clear();
        Qwen2PreTokenizer.Split(text, pieces);
        foreach (var (start, length) in pieces)
        {
            var piece = text.Substring(start, length);
            if (!_pieceCache.TryGetValue(piece, out var pieceIds))
            {
                pieceIds = Bpe(piece);
                if (_pieceCache.Count < PieceCacheLimit)
                    _pieceCache.TryAdd(piece, pieceIds);
            }
            ids.AddRange(pieceIds);
        }
    }

    /// <summary>
    /// Merges the piece's byte symbols, always the lowest-ranked adjacent pair first and the leftmost among equals —
    /// the order of HuggingFace's priority queue. A linked list and a heap keep a 10,000-space run from going quadratic.
    /// </summary>
    private int[] Bpe(string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        var n = bytes.Length;
        var sym = new int[n];
        for (var k = 0; k < n; k++)
            sym[k] = _byteToId[bytes[k]];
        if (n == 1)
            return sym;

        var prev = new int[n];
        var next = new int[n];
        for (var k = 0; k < n; k++)
        {
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
        }

        var queue = new PriorityQueue<(int Pos, int Left, int Right, int Merged), long>();
        for (var k = 0; k + 1 < n; k++)
            Enqueue(queue, k, sym[k], sym[k + 1]);

        var alive = n;
        while (queue.TryDequeue(out var e, out _))
        {
            var right = next[e.Pos];
            // Entries go stale when a neighbour merged since they were queued; merged ids never repeat a
            // component's id, so comparing the ids detects it.
            if (sym[e.Pos] != e.Left || right < 0 || sym[right] != e.Right)
                continue;
            sym[e.Pos] = e.Merged;
            sym[right] = -1;
            next[e.Pos] = next[right];
            if (next[right] >= 0)
                prev[next[right]] = e.Pos;
            alive--;
            if (prev[e.Pos] >= 0)
                Enqueue(queue, prev[e.Pos], sym[prev[e.Pos]], sym[e.Pos]);
            if (next[e.Pos] >= 0)
                Enqueue(queue, e.Pos, sym[e.Pos], sym[next[e.Pos]]);
        }

        var result = new int[alive];
        for (int k = 0, o = 0; k >= 0; k = next[k])
            result[o++] = sym[k];
        return result;
    }

    private void Enqueue(PriorityQueue<(int, int, int, int), long> queue, int pos, int left, int right)
    {
        if (_merges.TryGetValue(PairKey(left, right), out var m))
            queue.Enqueue((pos, left, right, m.Id), ((long)m.Rank << 32) | (uint)pos);
    }

    private static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    // A lone surrogate cannot be UTF-8 encoded (Rust strings, and so HuggingFace, cannot hold one); U+FFFD is
    // what .NET's UTF-8 encoder would write for it anyway.
    private static string ReplaceLoneSurrogates(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
            return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else
            {
                sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.ToString();
    }

    private static bool ReadNormalizer(JsonElement root)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind == JsonValueKind.Null)
            return false;
        var type = n.TryGetProperty("type", out var t) ? t.GetString() : null;
        return type switch
        {
            "NFC" => true,
            _ => throw new InvalidDataException($"tokenizer.json: normalizer \"{type}\" is not supported (only NFC or none)."),
        };
    }

    // Only the exact Qwen2 layout is accepted: a different split pattern would silently give different ids.
    private static void CheckPreTokenizer(JsonElement root)
    {
        var pre = Required(root, "pre_tokenizer");
        if (pre.TryGetProperty("type", out var t) && t.GetString() == "Sequence"
            && pre.TryGetProperty("pretokenizers", out var list) && list.GetArrayLength() == 2)
        {
            var split = list[0];
            var byteLevel = list[1];
            var pattern = split.TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var r) ? r.GetString() : null;
            var splitOk = split.GetProperty("type").GetString() == "Split"
                && pattern == Qwen2PreTokenizer.Pattern
                && split.TryGetProperty("behavior", out var b) && b.GetString() == "Isolated"
                && !(split.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True);
            var byteLevelOk = byteLevel.GetProperty("type").GetString() == "ByteLevel"
                && !(byteLevel.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                && !(byteLevel.TryGetProperty("use_regex", out var ur) && ur.ValueKind == JsonValueKind.True);
            if (splitOk && byteLevelOk)
                return;
            if (!splitOk)
                throw new InvalidDataException($"tokenizer.json: pre_tokenizer split pattern {pattern ?? "(none)"} is not the Qwen2 pattern this tokenizer implements.");
        }
        throw new InvalidDataException("tokenizer.json: pre_tokenizer must be Sequence[Split(Qwen2 pattern, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)] as in Qwen2/Qwen3.");
    }

    private static JsonElement Required(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v : throw new InvalidDataException($"tokenizer.json: missing \"{name}\".");
}
