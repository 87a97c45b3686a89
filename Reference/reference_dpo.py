"""DPO in PyTorch, written from Rafailov et al. 2023 and docs/algorithms.md §7, on the tiny
Llama fixtures: the policy starts from tiny-llama, the frozen reference is tiny-llama-ref
(seeded noise added, see reference_ppo.py), so the implicit rewards are non-zero from the
first step. Three AdamW steps on one batch of pair rows and a rated group, with gradient
clipping active; per step the loss, the gradient norm before clipping and TRL's statistics;
then every parameter. Also the first batch's loss under cDPO, IPO, hinge and reference-free.

Regenerate from the repository root, in the environment fixture_header.py describes:
    python Reference/reference_ppo.py   # writes tiny-llama-ref (an input here)
    python Reference/reference_dpo.py
Writes Tests/RLHFTests/Fixtures/dpo_prefs.jsonl, dpo_reference.json, dpo_after_steps.safetensors.
"""
import itertools
import json
import pathlib

import tokenizers
import torch
from transformers import LlamaForCausalLM

from fixture_header import header, save_safetensors

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLHFTests/Fixtures"
ROWS = [{"prompt": "Rate the film:", "chosen": " A warm, funny delight.", "rejected": " Dull."},
        {"prompt": "Reply politely:", "chosen": " Thank you so much!", "rejected": " Go away."},
        {"prompt": "Name a colour:", "chosen": " Blue.", "rejected": " Seven hundred."},
        {"prompt": "Describe the sea:", "completions": [" Vast and calm.", " Wet.", " A blue giant that breathes."],
         "ratings": [2, 0, 3]}]
# adam_epsilon 1e-6: an element whose gradient cancels to ~1e-11 (float32 noise, different in
# every implementation) would otherwise get a step of lr * g / (|g| + eps) decided by that
# noise; with eps above the noise floor such elements barely move in either implementation.
CFG = dict(beta=0.1, learning_rate=1e-3, max_grad_norm=0.5, steps=3, adam_epsilon=1e-6)


def main():
    (ROOT / "dpo_prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    tok = tokenizers.Tokenizer.from_file(str(ROOT / "tiny-llama/tokenizer.json"))
    eos = json.loads((ROOT / "tiny-llama/generation_config.json").read_text())["eos_token_id"][0]
    # Every response once, row after row, and the comparisons as (better, worse) row indices.
    seqs, prompt_lens, better, worse = [], [], [], []
    for r in ROWS:
        completions = r["completions"] if "completions" in r else [r["chosen"], r["rejected"]]
        ratings = r["ratings"] if "ratings" in r else [1, 0]
        p = tok.encode(r["prompt"]).ids
        base = len(seqs)
        for c in completions:
            seqs.append(p + tok.encode(c, add_special_tokens=False).ids + [eos])
            prompt_lens.append(len(p))
        for i, j in itertools.combinations(range(len(completions)), 2):
            if ratings[i] != ratings[j]:
                hi, lo = (i, j) if ratings[i] > ratings[j] else (j, i)
                better.append(base + hi); worse.append(base + lo)
    width = max(len(s) for s in seqs)
    ids = torch.tensor([s + [eos] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    completion = torch.zeros(len(seqs), width)
    for i, (s, n) in enumerate(zip(seqs, prompt_lens)):
        completion[i, n:len(s)] = 1
    better, worse = torch.tensor(better), torch.tensor(worse)

    def logps(model, average=False):
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, :-1]
        lp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
        m = completion[:, 1:]
        s = (lp * m).sum(1)
        return s / m.sum(1) if average else s

    def loss_of(pc, pr, rc, rr, kind="sigmoid", ls=0.0):
        h = (pc - rc) - (pr - rr)
        b = CFG["beta"]
        if kind == "sigmoid":
            return (-torch.nn.functional.logsigmoid(b * h) * (1 - ls) - torch.nn.functional.logsigmoid(-b * h) * ls).mean()
        if kind == "ipo":
            return ((h - 1 / (2 * b)) ** 2).mean()
        return torch.relu(1 - b * h).mean()

    policy = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama", attn_implementation="eager")
    ref = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama-ref", attn_implementation="eager").eval()
    with torch.no_grad():
        ref_lp, ref_avg = logps(ref), logps(ref, average=True)
        lp, avg = logps(policy), logps(policy, average=True)
        variants = {
            "cdpo": loss_of(lp[better], lp[worse], ref_lp[better], ref_lp[worse], ls=0.1).item(),
            "ipo": loss_of(avg[better], avg[worse], ref_avg[better], ref_avg[worse], kind="ipo").item(),
            "hinge": loss_of(lp[better], lp[worse], ref_lp[better], ref_lp[worse], kind="hinge").item(),
            "reference_free": loss_of(lp[better], lp[worse], 0, 0).item(),
        }
    opt = torch.optim.AdamW(policy.parameters(), lr=CFG["learning_rate"], eps=CFG["adam_epsilon"], weight_decay=0.0, foreach=False)
    steps = []
    for _ in range(CFG["steps"]):
        lp = logps(policy)
        pc, pr, rc, rr = lp[better], lp[worse], ref_lp[better], ref_lp[worse]
        loss = loss_of(pc, pr, rc, rr)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), CFG["max_grad_norm"])
        opt.step(); opt.zero_grad(set_to_none=True)
        b = CFG["beta"]
        chosen_r, rejected_r = b * (pc - rc).detach(), b * (pr - rr).detach()
        steps.append({"loss": loss.item(), "grad_norm": norm.item(), "rewards/chosen": chosen_r.mean().item(),
                      "rewards/rejected": rejected_r.mean().item(),
                      "rewards/accuracies": (chosen_r > rejected_r).double().mean().item(),
                      "rewards/margins": (chosen_r - rejected_r).mean().item(),
                      "logps/chosen": pc.mean().item(), "logps/rejected": pr.mean().item()})
    after = {k: v.detach().clone().contiguous() for k, v in policy.named_parameters()}
    save_safetensors(after, ROOT / "dpo_after_steps.safetensors", header(__file__))
    (ROOT / "dpo_reference.json").write_text(json.dumps({
        "header": header(__file__), "config": CFG, "sequences": seqs, "better": better.tolist(), "worse": worse.tolist(),
        "reference_logps": ref_lp.tolist(), "variants_first_batch": variants, "steps": steps}, indent=1) + "\n")
    for s in steps:
        print({k: round(v, 5) for k, v in s.items()})
    print(variants)


if __name__ == "__main__":
    main()
