"""SPEC section 2 in PyTorch: one PPO iteration on a FIXED rollout (given token ids, so no
sampling is involved) with the tiny Llama fixtures — actor and reference from tiny-llama,
critic and reward model from tiny-llama-rm (its trunk and trained-looking score head).
Writes every intermediate quantity and the parameters after one minibatch update.

Regenerate (by hand, never in CI; run make_rlhf_fixtures.py first):
    /tmp/venv/bin/python Reference/reference_ppo.py
Writes Tests/RLHFTests/Fixtures/ppo_reference.json and ppo_after_update.safetensors.
"""
import json
import pathlib

import safetensors.torch
import tokenizers
import torch
import transformers
from transformers import LlamaForCausalLM, LlamaForSequenceClassification

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLHFTests/Fixtures"
PROMPTS = ["Tell me a story", "Hi", "What is the capital of France?"]
CFG = dict(temperature=0.7, kl_coef=0.05, gamma=1.0, lam=0.95, clip_ratio=0.2, vf_coef=0.1, cliprange_value=0.2,
           entropy_coef=0.01, missing_eos_penalty=1.0, lr_actor=1e-3, lr_critic=1e-3, max_gen_len=6)


def main():
    tok = tokenizers.Tokenizer.from_file(str(ROOT / "tiny-llama/tokenizer.json"))
    eos = json.loads((ROOT / "tiny-llama/generation_config.json").read_text())["eos_token_id"]
    pad = eos[0]
    actor = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama", attn_implementation="eager")
    ref = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama", attn_implementation="eager").eval()
    critic = LlamaForSequenceClassification.from_pretrained(ROOT / "tiny-llama-rm", attn_implementation="eager")
    rm = LlamaForSequenceClassification.from_pretrained(ROOT / "tiny-llama-rm", attn_implementation="eager").eval()

    prompt_ids = [tok.encode(p).ids for p in PROMPTS]
    # Fixed responses: row 0 ends with EOS after 4 tokens, row 1 runs to max_gen_len without
    # EOS, row 2 is EOS-terminated after 2 tokens.
    responses = [[40, 77, 305, 12, eos[0]], [7, 8, 9, 10, 11, 13], [250, eos[1]]]
    hit_eos = [r[-1] in eos for r in responses]
    tp = max(len(p) for p in prompt_ids)
    a = max(len(r) for r in responses)
    ids = torch.tensor([[pad] * (tp - len(p)) + p + r + [pad] * (a - len(r)) for p, r in zip(prompt_ids, responses)])
    mask = torch.tensor([[0] * (tp - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (a - len(r)) for p, r in zip(prompt_ids, responses)])
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    actions = ids[:, tp:]
    amask = mask[:, tp:].float()                                    # (B, A)
    b = len(PROMPTS)
    T = CFG["temperature"]

    def action_logits(model):
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, tp - 1:tp - 1 + a]
        return logits / T

    def logprobs(logits):
        return torch.log_softmax(logits, -1).gather(-1, actions[..., None])[..., 0]

    def values_of(model):
        h = model.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        return model.score(h)[..., 0][:, tp - 1:tp - 1 + a]

    with torch.no_grad():
        old = logprobs(action_logits(actor))
        reflp = logprobs(action_logits(ref))
        values = values_of(critic)
        h = rm.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
        per_tok = rm.score(h)[..., 0]
        last = torch.tensor([int(torch.nonzero(mask[i])[-1]) for i in range(b)])
        raw = per_tok[torch.arange(b), last]

    # Rewards: -beta * kl (k1) on actions; shaped score on the last action.
    kl = (old - reflp) * amask
    rewards = -CFG["kl_coef"] * kl
    score = raw - torch.tensor([0.0 if e else CFG["missing_eos_penalty"] for e in hit_eos])
    lengths = amask.sum(1).long()
    for i in range(b):
        rewards[i, lengths[i] - 1] += score[i]
    rewards = rewards * amask

    # GAE backwards over valid tokens; value after the last is 0.
    adv = torch.zeros(b, a)
    for i in range(b):
        gae, next_v = 0.0, 0.0
        for t in reversed(range(int(lengths[i]))):
            delta = rewards[i, t] + CFG["gamma"] * next_v - values[i, t]
            gae = delta + CFG["gamma"] * CFG["lam"] * gae
            adv[i, t] = gae
            next_v = values[i, t]
    returns = (adv + values) * amask
    n = amask.sum()
    mean = (adv * amask).sum() / n
    var = (((adv - mean) ** 2) * amask).sum() / n * (n / (n - 1))          # TRL masked_var, unbiased
    whitened = (adv - mean) * torch.rsqrt(var + 1e-8) * amask

    # One minibatch update (all rows).
    opt_a = torch.optim.AdamW(actor.parameters(), lr=CFG["lr_actor"], weight_decay=0.0, foreach=False)
    opt_c = torch.optim.AdamW(critic.parameters(), lr=CFG["lr_critic"], weight_decay=0.0, foreach=False)
    logits = action_logits(actor)
    new = logprobs(logits)
    ratio = torch.exp(new - old)
    s1, s2 = ratio * whitened, torch.clamp(ratio, 1 - CFG["clip_ratio"], 1 + CFG["clip_ratio"]) * whitened
    pl = -(torch.min(s1, s2) * amask).sum() / n
    clipfrac = ((s2 < s1).float() * amask).sum() / n
    v = values_of(critic)
    vclip = values + torch.clamp(v - values, -CFG["cliprange_value"], CFG["cliprange_value"])
    vl = 0.5 * (torch.max((v - returns) ** 2, (vclip - returns) ** 2) * amask).sum() / n
    p = torch.softmax(logits, -1)
    ent_tok = torch.logsumexp(logits, -1) - (p * logits).sum(-1)
    ent = (ent_tok * amask).sum() / n
    total = pl + CFG["vf_coef"] * vl - CFG["entropy_coef"] * ent
    total.backward()
    torch.nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
    torch.nn.utils.clip_grad_norm_(critic.parameters(), 1.0)
    opt_a.step(); opt_c.step()

    after = {"actor." + k: v.detach().clone().contiguous() for k, v in actor.named_parameters()}
    after.update({"critic." + k: v.detach().clone().contiguous() for k, v in critic.named_parameters()})
    safetensors.torch.save_file(after, str(ROOT / "ppo_after_update.safetensors"))
    (ROOT / "ppo_reference.json").write_text(json.dumps({
        "header": {"generator": "Reference/reference_ppo.py", "regenerate": "python Reference/reference_ppo.py",
                   "torch": torch.__version__, "transformers": transformers.__version__},
        "config": CFG, "prompts": PROMPTS, "prompt_ids": prompt_ids, "responses": responses, "hit_eos": hit_eos,
        "old_logprobs": old.tolist(), "ref_logprobs": reflp.tolist(), "values": values.tolist(), "scores_raw": raw.tolist(),
        "rewards": rewards.tolist(), "advantages_raw": adv.tolist(), "advantages": whitened.tolist(), "returns": returns.tolist(),
        "policy_loss": pl.item(), "value_loss": vl.item(), "clip_fraction": clipfrac.item(), "entropy": ent.item()}, indent=1))
    print("policy", pl.item(), "value", vl.item(), "clipfrac", clipfrac.item(), "entropy", ent.item())


if __name__ == "__main__":
    main()
