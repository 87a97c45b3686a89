#!/usr/bin/env python3
"""Generate the golden fixtures for Tests/TokenizersTests from Hugging Face `tokenizers` and
`transformers` (apply_chat_template). Trains small BPE tokenizers in the shapes of real
pipelines (GPT-2, Llama 3, Qwen2, SentencePiece-BPE legacy and Metaspace, added tokens,
whitespace/suffix BPE), saves them, and records ids and decoded text for a corpus.

Regenerate:  python Reference/make_tokenizer_fixtures.py   (from the repository root)
Environment: a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0 and
             tokenizers==0.23.3 (jinja2 comes with transformers); see Reference/fixture_header.py.
Writes:      Tests/TokenizersTests/Fixtures/<name>/{tokenizer.json,tokenizer_config.json,expected.json}
             Tests/TokenizersTests/Fixtures/gpt2-files/, chat_templates.json, corpus.json
             (every JSON golden with the generator, tool versions and this command in "header");
             swift-trained/ is left alone (Reference/check_bpe_trainer.py and the Swift test own it).
Never edit the outputs by hand; change this script and rerun it.
"""
import json, os, shutil
from fixture_header import header
from tokenizers import Tokenizer, AddedToken, models, normalizers, pre_tokenizers, decoders, processors, trainers, Regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")
HEADER = header(__file__, packages=("torch", "transformers", "tokenizers", "safetensors", "jinja2"), extra={
    "seed": "none; BPE training may break count ties differently between runs, so the fixtures are one consistent set from a single run",
})
# The folders this script writes (and empties first); the rest of OUT belongs to others.
WRITES = ["gpt2", "gpt2-files", "llama3", "qwen2", "llama2-sp", "mistral-sp", "metaspace-split", "added-tokens",
          "word-suffix"]

GPT2_RE = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# Texts we encode and compare: multilingual, whitespace-heavy, emoji, code, edge cases.
TEXTS = [
    "", " ", "  ", "\n", "a", "Hello world", " Hello world", "Hello  world  ", "Hello\tworld\n",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see it's what they've done; we'd say I'M, YOU'LL, IT'S, 'twas, 'Hello'.",
    "Numbers: 1234567890, 3.14159, 1e-9, 2024-06-30, ١٢٣٤٥, Ⅻ, ½ and ² and ₃.",
    "Café naïve résumé façade coöperate — «guillemets» and ‘quotes’.",
    "Cafe\u0301 decomposed e\u0301 vs precomposed \u00e9; Å vs A\u030a; ﬁ ligature; ＦＵＬＬ width; ㎏.",
    "Der Straßenverkehr in Köln ist übermäßig.",
    "Привет, как дела? Всё хорошо!",
    "Γειά σου Κόσμε· ΟΔΟΣ and ΣΑΣ.",
    "你好，世界！今天天气很好。我们去公园散步吧。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트입니다. 안녕하세요!",
    "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีครับ ยินดีต้อนรับ",
    "שלום עולם",
    "Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ ✨🚀 — end",
    "🤗",
    "Tabs\tand\t\tmany\t\t\ttabs",
    "Lines\n\nwith\r\nCRLF\r\n\r\nand   trailing   \n",
    "   leading spaces and trailing spaces   ",
    "Non-breaking\u00a0space, ideographic\u3000space, thin\u2009space, zero\u200bwidth, nel\u0085line.",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "func add(_ a: Int, _ b: Int) -> Int { return a + b } // Swift\n",
    '{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}',
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "https://example.com/path?query=1&x=y#frag user@example.org",
    "!!!???...,,,;;;:::---___***",
    "'s 'S 'll 'LL 'Re ' 've ' d''",
    "(hello) [world] {foo} <bar>",
    "ALLCAPS lowercase MiXeD CamelCase snake_case kebab-case",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "x" * 300 + " " + "ab" * 150,
    "\u0000control\u0001chars\u007f and \ufeffBOM",
    "Mixed: English, français, 中文, русский, العربية, 😀, 123!",
    "ſ and 'ſ and K (Kelvin)",
]

# The training corpus: the texts above plus some plain prose, repeated.
TRAIN = TEXTS + [
    "Reinforcement learning from human feedback aligns language models with preferences.",
    "The reward model scores each completion; the policy is updated with PPO.",
    "Supervised fine-tuning comes first, then reward modelling, then reinforcement learning.",
    "Le modèle de langue apprend à partir des préférences humaines.",
    "Das Sprachmodell lernt aus menschlichen Präferenzen.",
    "语言模型从人类偏好中学习。强化学习需要奖励模型。",
    "Языковая модель учится на человеческих предпочтениях.",
    "import torch\nfrom transformers import AutoTokenizer\ntokenizer = AutoTokenizer.from_pretrained(path)\n",
] * 20

SPECIAL_CASES = {
    # texts that exercise added tokens; recorded for every tokenizer that has them
}


def train(tok, vocab_size, special, **kw):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False, **kw)
    tok.train_from_iterator(TRAIN, trainer=trainer)
    return tok


def save(name, tok, config, extra_texts=(), merges_as_strings=False):
    # No "tokenizer_class" in the configs: transformers v5 rebuilds the pipeline of a named
    # class (e.g. LlamaTokenizer swaps the normalizer for Metaspace), and our contract is the
    # tokenizer.json as written, which is what the generic TokenizersBackend keeps.
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "tokenizer.json")
    tok.save(path, pretty=False)
    if merges_as_strings:
        j = json.load(open(path, encoding="utf-8"))
        j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
        json.dump(j, open(path, "w", encoding="utf-8"), ensure_ascii=False, separators=(",", ":"))
    tok = Tokenizer.from_file(path)  # record from the file as saved
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
    cases = []
    for t in list(TEXTS) + list(extra_texts):
        e = tok.encode(t)
        ids = e.ids
        ids_ns = tok.encode(t, add_special_tokens=False).ids
        # Optional fields are left out when they equal another one, to keep fixtures small.
        case = {"text": t, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)}
        if ids_ns != ids:
            case["ids_no_special"] = ids_ns
        skip = tok.decode(ids, skip_special_tokens=True)
        if skip != case["decoded"]:
            case["decoded_skip"] = skip
        cases.append(case)
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"header": HEADER, "name": name, "cases": cases}, f, ensure_ascii=False, separators=(",", ":"))
    return tok


def gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 600, ["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    cfg = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
           "model_max_length": 1024}
    tok = save("gpt2", tok, cfg, extra_texts=["Hello<|endoftext|>world", "<|endoftext|> <|endoftext|>"])
    # The same model as GPT-2 style vocab.json + merges.txt.
    d = os.path.join(OUT, "gpt2-files")
    os.makedirs(d, exist_ok=True)
    tok.model.save(d)
    json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    return tok


def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<|eom_id|>", "<|python_tag|>"]
    train(tok, 650, specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])])
    cfg = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": LLAMA31_TEMPLATE,
           "model_max_length": 131072}
    return save("llama3", tok, cfg, merges_as_strings=True,
                extra_texts=["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"])


def qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    train(tok, 600, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    cfg = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "chat_template": QWEN25_TEMPLATE,
           "model_max_length": 32768}
    return save("qwen2", tok, cfg, extra_texts=["<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"])


def sentencepiece_vocab():
    """Train a SentencePiece-style BPE and give it Llama's layout: <unk> <s> </s> <0x00>..<0xFF>."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    train(tok, 420, ["<unk>", "<s>", "</s>"], limit_alphabet=100)
    j = json.loads(tok.to_str())
    trained = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for t, _ in trained:
        if t not in vocab:
            vocab[t] = len(vocab)
    return vocab, j["model"]["merges"]


def sp_tokenizer(vocab, merges, legacy):
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m) for m in merges], unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken("<unk>", special=True, normalized=False),
                            AddedToken("<s>", special=True, normalized=False),
                            AddedToken("</s>", special=True, normalized=False)])
    if legacy:   # Llama 2 / Gemma-style tokenizer.json: normalizer does the spaces
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:        # newer Llama / Mistral: Metaspace pre-tokenizer, prepend on the first piece only
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", 1)])
    return tok


def sentencepiece():
    vocab, merges = sentencepiece_vocab()
    extra = ["<s>Hello</s> world", "Hello <s> world</s>", "A<unk>B"]
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "chat_template": ZEPHYR_TEMPLATE}
    save("llama2-sp", sp_tokenizer(vocab, merges, True), cfg, extra_texts=extra)
    cfg = dict(cfg, chat_template=MISTRAL_V02_TEMPLATE)
    save("mistral-sp", sp_tokenizer(vocab, merges, False), cfg, extra_texts=extra)
    # A Metaspace(split=True) variant with the Metaspace decoder.
    tok = sp_tokenizer(vocab, merges, False)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="always"), decoders.Fuse()])
    save("metaspace-split", tok, dict(cfg, chat_template=GEMMA_TEMPLATE), extra_texts=extra)


def added_tokens():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Strip(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    train(tok, 600, ["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.add_special_tokens([AddedToken("<|user|>", lstrip=True, rstrip=True, normalized=False, special=True),
                            AddedToken("<|assistant|>", rstrip=True, normalized=False, special=True)])
    tok.add_tokens([AddedToken("[MASK]", single_word=True, normalized=False, special=False),
                    AddedToken("Hello World", normalized=True, special=False),
                    AddedToken("<tool>", lstrip=True, normalized=False, special=False),
                    AddedToken("mask", single_word=True, normalized=True, special=False)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                                       special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    cfg = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "chat_template": SMOLLM2_TEMPLATE}
    extra = ["<|user|>  hi there  <|assistant|>  fine", "x<|user|>y", "a [MASK] b", "a[MASK]b", "[MASK]",
             "say hello world and HELLO   WORLD", "unmask the mask, Mask!", "call <tool> now   <tool>", "<|assistant|><|user|>",
             "  <|user|>", "Ｈｅｌｌｏ Ｗｏｒｌｄ", "mask"]
    tok = save("added-tokens", tok, cfg, extra_texts=extra)
    # Batch fixtures: truncation + padding as HF applies them.
    batches = []
    texts = ["Hello world", "A much longer sentence with many more tokens in it, surely.", "", "<|user|> hi"]
    for side, tside, maxlen in [("right", "right", 12), ("left", "left", 9), ("right", "left", 64)]:
        tok.enable_truncation(max_length=maxlen, direction=tside)
        tok.enable_padding(direction=side, pad_id=tok.token_to_id("<pad>"), pad_token="<pad>")
        enc = tok.encode_batch(texts)
        batches.append({"padding_side": side, "truncation_side": tside, "max_length": maxlen, "texts": texts,
                        "ids": [e.ids for e in enc], "attention_mask": [e.attention_mask for e in enc]})
    tok.no_truncation(); tok.no_padding()
    pairs = [{"a": a, "b": b, "ids": tok.encode(a, b).ids} for a, b in [("Hello", "world"), ("one two", "three [MASK]")]]
    p = os.path.join(OUT, "added-tokens", "expected.json")
    j = json.load(open(p, encoding="utf-8"))
    j["batches"] = batches
    j["pairs"] = pairs
    json.dump(j, open(p, "w", encoding="utf-8"), ensure_ascii=False, separators=(",", ":"))


def word_suffix():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation(), pre_tokenizers.Digits()])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    train(tok, 500, ["[UNK]", "[CLS]", "[SEP]", "[PAD]"], limit_alphabet=60,
          continuing_subword_prefix="##", end_of_word_suffix="</w>")
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    save("word-suffix", tok, {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]"})


# ---------------------------------------------------------------- chat templates
SMOLLM2_TEMPLATE = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

QWEN25_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

LLAMA3_TEMPLATE = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"

LLAMA31_TEMPLATE = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

MISTRAL_V01_TEMPLATE = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"

MISTRAL_V02_TEMPLATE = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

ZEPHYR_TEMPLATE = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"

GEMMA_TEMPLATE = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"

TEMPLATES = {
    "smollm2": (SMOLLM2_TEMPLATE, "added-tokens"),
    "qwen2.5": (QWEN25_TEMPLATE, "qwen2"),
    "llama3": (LLAMA3_TEMPLATE, "llama3"),
    "llama3.1": (LLAMA31_TEMPLATE, "llama3"),
    "mistral-v0.1": (MISTRAL_V01_TEMPLATE, "mistral-sp"),
    "mistral-v0.2": (MISTRAL_V02_TEMPLATE, "mistral-sp"),
    "zephyr": (ZEPHYR_TEMPLATE, "llama2-sp"),
    "gemma": (GEMMA_TEMPLATE, "metaspace-split"),
}

WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"},
                                                                "days": {"type": "integer"}}, "required": ["city"]}}}
CONVERSATIONS = {
    "system_user_assistant_user": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "  And 3+3?  "}],
    "user_only": [{"role": "user", "content": "Hello! 你好 😀"}],
    "user_assistant": [{"role": "user", "content": "Write \"hi\" in French."},
                       {"role": "assistant", "content": "Salut\n  — « bonjour »"},
                       {"role": "user", "content": "Thanks\ttab"}],
    "multiline": [{"role": "user", "content": "line one\nline two\n\n  indented\n"},
                  {"role": "assistant", "content": "ok\n"}],
    "tool_call": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "content": "{\"temp\": 21.5, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21.5°C and clear."}],
}


def chat_templates():
    from transformers import AutoTokenizer
    out = {"header": HEADER, "templates": {}, "cases": []}
    for name, (tmpl, tokdir) in TEMPLATES.items():
        out["templates"][name] = {"template": tmpl, "tokenizer": tokdir}
        tok = AutoTokenizer.from_pretrained(os.path.join(OUT, tokdir))
        for cname, conv in CONVERSATIONS.items():
            tool_template = name in ("qwen2.5", "llama3.1")
            for tools in ([None, [WEATHER_TOOL]] if tool_template and cname in ("user_only", "tool_call") else [None]):
                if cname == "tool_call" and not tool_template:
                    continue
                # Both values of add_generation_prompt on one conversation; True elsewhere.
                for agp in ((False, True) if cname == "user_assistant" else (True,)):
                    case = {"template": name, "conversation": cname, "add_generation_prompt": agp, "tools": tools}
                    try:
                        kw = {"tools": tools} if tools else {}
                        text = tok.apply_chat_template(conv, chat_template=tmpl, tokenize=False, add_generation_prompt=agp, **kw)
                        case["rendered"] = text
                        if tmpl == tok.chat_template:
                            ids = tok.apply_chat_template(conv, tokenize=True, add_generation_prompt=agp, **kw)
                            if hasattr(ids, "keys"):
                                ids = ids["input_ids"]
                            case["ids"] = list(ids)
                    except Exception as e:  # raise_exception in the template
                        case["error"] = str(e)
                    out["cases"].append(case)
    out["conversations"] = CONVERSATIONS
    with open(os.path.join(OUT, "chat_templates.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=0, separators=(",", ":"))


def main():
    for name in WRITES:
        shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    gpt2(); llama3(); qwen2(); sentencepiece(); added_tokens(); word_suffix()
    with open(os.path.join(OUT, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump({"header": HEADER, "texts": TEXTS, "patterns": {"gpt2": GPT2_RE, "llama3": LLAMA3_RE, "qwen2": QWEN2_RE}}, f, ensure_ascii=False, indent=0)
    chat_templates()


if __name__ == "__main__":
    main()
