"""Fixtures for the RLHF target and the command-line tool: a tiny random Llama with a real
(small, trained) Llama-3-style tokenizer, and perplexity goldens computed by transformers.

Regenerate (by hand, never in CI; needs the tokenizer fixtures of Tests/TokenizersTests):
    /tmp/venv/bin/python Reference/make_rlhf_fixtures.py
Writes Tests/RLHFTests/Fixtures/tiny-llama/ and Tests/RLHFTests/Fixtures/perplexity.json.
"""
import json
import math
import pathlib
import shutil

import tokenizers
import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOK = ROOT / "Tests/TokenizersTests/Fixtures/llama3"
OUT = ROOT / "Tests/RLHFTests/Fixtures"
DOCS = ["The quick brown fox jumps over the lazy dog.",
        "Reward models score responses; PPO raises the score while the KL stays small.",
        "x",
        "def f(x):\n    return x * 2"]


def main():
    tok = tokenizers.Tokenizer.from_file(str(TOK / "tokenizer.json"))
    cfg = json.loads((TOK / "tokenizer_config.json").read_text())
    eos = [tok.token_to_id(cfg["eos_token"]), tok.token_to_id("<|end_of_text|>")]
    bos = tok.token_to_id(cfg["bos_token"])
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         tie_word_embeddings=True, bos_token_id=bos, eos_token_id=eos, rope_theta=10000.0)
    model = LlamaForCausalLM(config).eval()
    d = OUT / "tiny-llama"
    model.save_pretrained(d, safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(TOK / f, d / f)
    (d / "generation_config.json").write_text(json.dumps({"bos_token_id": bos, "eos_token_id": eos}, indent=1))

    total, count = 0.0, 0
    per_doc = []
    for doc in DOCS:
        ids = tok.encode(doc).ids
        with torch.no_grad():
            out = model(torch.tensor([ids]), labels=torch.tensor([ids]))
        n = len(ids) - 1
        per_doc.append({"text": doc, "ids": ids, "nll_sum": out.loss.item() * n, "scored": n})
        total += out.loss.item() * n
        count += n
    (OUT / "perplexity.json").write_text(json.dumps({
        "header": {"generator": "Reference/make_rlhf_fixtures.py", "regenerate": "python Reference/make_rlhf_fixtures.py",
                   "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "documents": per_doc, "nll": total / count, "tokens": count, "perplexity": math.exp(total / count)}, indent=1))
    print("nll", total / count, "tokens", count)


if __name__ == "__main__":
    main()
