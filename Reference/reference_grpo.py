"""One GRPO iteration in PyTorch, written from Shao et al. 2024 (DeepSeekMath), DAPO (Yu et
al. 2025) and docs/algorithms.md §7, on a fixed rollout with the tiny Llama fixtures: two
prompts x G = 2 responses, the reward model's scores (minus the missing-EOS penalty)
normalised within each group, every token of a response given its group advantage, the
clipped surrogate with separate ranges (0.2 / 0.28) plus beta * k3 KL to the reference in the
loss (the reference differs from the policy: tiny-llama-ref), aggregated as GRPO's mean of
per-sequence means. Two epochs x two minibatches with recorded orders, gradient clipping
active; per step the loss, clip fraction, approx KL, entropy and grad norm; the actor after.

Regenerate from the repository root, in the environment fixture_header.py describes:
    python Reference/reference_ppo.py    # writes tiny-llama-ref (an input here)
    python Reference/reference_grpo.py
Writes Tests/RLHFTests/Fixtures/grpo_reference.json and grpo_after_update.safetensors.
"""
import json

import tokenizers
import torch
from transformers import LlamaForCausalLM, LlamaForSequenceClassification

from fixture_header import header, save_safetensors
from reference_ppo import ROOT, Batch, action_logits, kl_estimate, logprobs_of, masked_mean

PROMPTS = ["Tell me a story", "What is the capital of France?"]
G = 2
RESPONSES = [[40, 77, 305, 12, 4], [7, 8, 9, 10, 11, 13], [250, 1], [91, 92, 93, 4]]   # rows 0-1: prompt 0; 2-3: prompt 1
ORDERS = [[2, 0, 3, 1], [1, 3, 0, 2]]
# adam_epsilon 1e-6: a gradient element that cancels to float32 noise (~1e-11) would otherwise
# get an Adam step decided by that noise, different in every implementation.
CFG = dict(adam_epsilon=1e-6, temperature=0.7, clip_low=0.2, clip_high=0.28, beta=0.04, entropy_coef=0.01, missing_eos_penalty=1.0,
           lr_actor=1e-3, max_grad_norm=0.5, mini_batch_size=2, num_generations=G, scale_rewards="group", max_gen_len=6)


def main():
    tok = tokenizers.Tokenizer.from_file(str(ROOT / "tiny-llama/tokenizer.json"))
    eos = json.loads((ROOT / "tiny-llama/generation_config.json").read_text())["eos_token_id"]
    prompt_ids = [tok.encode(p).ids for p in PROMPTS for _ in range(G)]
    batch = Batch(prompt_ids, RESPONSES, eos[0], eos)
    actor = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama", attn_implementation="eager")
    ref = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama-ref", attn_implementation="eager").eval()
    rm = LlamaForSequenceClassification.from_pretrained(ROOT / "tiny-llama-rm", attn_implementation="eager").eval()
    T, b = CFG["temperature"], len(RESPONSES)
    every = list(range(b))
    with torch.no_grad():
        old = logprobs_of(action_logits(actor, batch, every, T), batch.actions)
        reflp = logprobs_of(action_logits(ref, batch, every, T), batch.actions)
        h = rm.model(input_ids=batch.ids, attention_mask=batch.mask, position_ids=batch.pos).last_hidden_state
        last = torch.tensor([int(torch.nonzero(batch.mask[i])[-1]) for i in every])
        raw = rm.score(h)[..., 0][torch.arange(b), last]
    score = raw - torch.tensor([0.0 if e else CFG["missing_eos_penalty"] for e in batch.hit_eos])
    grouped = score.view(-1, G)
    seq_adv = ((grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-4)).view(-1)
    adv = seq_adv[:, None] * batch.amask                                         # (B, A) every token of y_i gets A_i

    opt = torch.optim.AdamW(actor.parameters(), lr=CFG["lr_actor"], eps=CFG["adam_epsilon"], weight_decay=0.0, foreach=False)
    steps = []
    for order in ORDERS:
        for start in range(0, b, CFG["mini_batch_size"]):
            idx = order[start:start + CFG["mini_batch_size"]]
            m = batch.amask[idx]
            logits = action_logits(actor, batch, idx, T)
            new = logprobs_of(logits, batch.actions[idx])
            ratio = torch.exp(new - old[idx])
            s1 = ratio * adv[idx]
            s2 = torch.clamp(ratio, 1 - CFG["clip_low"], 1 + CFG["clip_high"]) * adv[idx]
            per_token = -torch.min(s1, s2) + CFG["beta"] * kl_estimate("k3", new - reflp[idx])
            pl = ((per_token * m).sum(1) / m.sum(1)).mean()                      # GRPO: mean of per-sequence means
            p = torch.softmax(logits, -1)
            ent = masked_mean(torch.logsumexp(logits, -1) - (p * logits).sum(-1), m)
            total = pl - CFG["entropy_coef"] * ent
            total.backward()
            gn = torch.nn.utils.clip_grad_norm_(actor.parameters(), CFG["max_grad_norm"])
            opt.step(); opt.zero_grad(set_to_none=True)
            with torch.no_grad():
                approx = masked_mean(kl_estimate("k3", old[idx] - new), m)
                clipfrac = masked_mean((s2 < s1).double(), m)
            steps.append(dict(rows=idx, policy_loss=pl.item(), clip_fraction=clipfrac.item(), approx_kl=approx.item(),
                              entropy=ent.item(), actor_grad_norm=gn.item()))
    after = {"actor." + k: v.detach().clone().contiguous() for k, v in actor.named_parameters()}
    save_safetensors(after, ROOT / "grpo_after_update.safetensors", header(__file__))
    (ROOT / "grpo_reference.json").write_text(json.dumps({
        "header": header(__file__), "config": CFG, "prompts": PROMPTS, "responses": RESPONSES, "hit_eos": batch.hit_eos,
        "orders": ORDERS, "scores_raw": raw.tolist(), "sequence_advantages": seq_adv.tolist(), "advantages": adv.tolist(),
        "old": old.tolist(), "ref": reflp.tolist(), "steps": steps}, indent=1) + "\n")
    for s in steps:
        print({k: round(v, 5) if isinstance(v, float) else v for k, v in s.items()})


if __name__ == "__main__":
    main()
