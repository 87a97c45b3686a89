"""Fixtures for the RLHF target and the command-line tool: a tiny random Llama with a real
(small, trained) Llama-3-style tokenizer, and perplexity goldens computed by transformers.

Regenerate (by hand, never in CI; needs the tokenizer fixtures of Tests/TokenizersTests),
from the repository root:
    python Reference/make_rlhf_fixtures.py
in a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0, tokenizers==0.23.3
and safetensors==0.8.0 (see Reference/fixture_header.py). Writes Tests/RLHFTests/Fixtures/
tiny-llama/, tiny-llama-rm/, sft.jsonl, prefs.jsonl and the goldens perplexity.json,
trainers.json (generator, tool versions and this command in their "header") and
sft_after_step.safetensors (the same header as its __metadata__).
"""
import json
import math
import pathlib
import shutil

import tokenizers
import torch
from fixture_header import header, save_safetensors
from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

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
    sft_and_reward_goldens(tok, eos[0], bos, model, config)

    (OUT / "perplexity.json").write_text(json.dumps({
        "header": header(__file__),
        "documents": per_doc, "nll": total / count, "tokens": count, "perplexity": math.exp(total / count)}, indent=1))
    print("nll", total / count, "tokens", count)


SFT_ROWS = [{"prompt": "Question: what is two plus two?", "completion": " Four."},
            {"prompt": "Say hi", "completion": " Hello there, friend!"},
            {"prompt": "Translate 'chat' to English:", "completion": " cat"}]
PREF_ROWS = [{"prompt": "Rate the film:", "chosen": " A warm, funny delight.", "rejected": " Dull."},
             {"prompt": "Reply politely:", "chosen": " Thank you so much!", "rejected": " Go away."}]


def sft_and_reward_goldens(tok, eos, bos, model, config):
    """SFT loss with prompt labels -100, one AdamW step, and the Bradley-Terry loss of a
    sequence-classification twin, on batches tokenized as Sources/Data does: prompt ids
    (with the post-processor's BOS) + completion ids (no specials) + EOS, right-padded."""
    (OUT / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in SFT_ROWS))
    (OUT / "prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in PREF_ROWS))
    pad = eos

    def example(prompt, completion):
        p = tok.encode(prompt).ids
        c = tok.encode(completion, add_special_tokens=False).ids + [eos]
        return p, c

    def right_pad(seqs):
        width = max(len(s) for s in seqs)
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
        return ids, mask

    pcs = [example(r["prompt"], r["completion"]) for r in SFT_ROWS]
    ids, mask = right_pad([p + c for p, c in pcs])
    labels = ids.clone()
    for i, (p, c) in enumerate(pcs):
        labels[i, :len(p)] = -100
        labels[i, len(p) + len(c):] = -100
    m = LlamaForCausalLM(config)
    m.load_state_dict(model.state_dict())
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, foreach=False)
    out = m(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    after = {n: p.detach().clone().contiguous() for n, p in m.named_parameters()}
    save_safetensors(after, OUT / "sft_after_step.safetensors", header(__file__))

    # Reward model: the same trunk with a seeded score head.
    torch.manual_seed(3)
    config.num_labels = 1
    config.pad_token_id = pad
    rm = LlamaForSequenceClassification(config).eval()
    rm.load_state_dict(model.state_dict(), strict=False)
    rm.save_pretrained(OUT / "tiny-llama-rm", safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(TOK / f, OUT / "tiny-llama-rm" / f)
    chosen = [sum(example(r["prompt"], r["chosen"]), []) for r in PREF_ROWS]
    rejected = [sum(example(r["prompt"], r["rejected"]), []) for r in PREF_ROWS]
    seqs = chosen + rejected
    ids2, mask2 = right_pad(seqs)
    with torch.no_grad():
        hidden = rm.model(input_ids=ids2, attention_mask=mask2).last_hidden_state
        per_tok = rm.score(hidden)[..., 0]
        last = torch.tensor([len(s) - 1 for s in seqs])
        r = per_tok[torch.arange(len(seqs)), last]
    n = len(PREF_ROWS)
    bt = -torch.nn.functional.logsigmoid(r[:n] - r[n:]).mean()
    (OUT / "trainers.json").write_text(json.dumps({
        "header": header(__file__),
        "sft_ids": ids.tolist(), "sft_labels": labels.tolist(), "sft_loss": out.loss.item(), "sft_grad_norm": norm.item(),
        "rm_rewards": r.tolist(), "bt_loss": bt.item()}, indent=1))


if __name__ == "__main__":
    main()
