"""PPO in PyTorch, written from docs/algorithms.md section "PPO", on FIXED rollouts (given
token ids, so no sampling is involved) with the tiny Llama fixtures. Built so that every
mistake the Swift trainer could make changes a recorded number:

- the frozen reference is the actor with seeded noise added (tiny-llama-ref/), so the KL
  terms are non-zero and of both signs; gamma 0.99 and lambda 0.95;
- 2 PPO epochs x 2 minibatches with recorded permutations and a learning rate large enough
  that the second epoch's ratios leave the clip range and value clipping fires;
- per optimizer step: policy/value loss, clip fractions, approx KL, entropy and both
  models' gradient norms before clipping, with max_grad_norm below them;
- the clip run is two iterations (the adaptive KL controller moves beta in between, Adam's
  moments carry over); the kl_penalty run measures KL(pi_old || pi_new) after its update
  and moves beta_pen; k2 and k3 reward rows.

Regenerate from the repository root, in the environment fixture_header.py describes:
    python Reference/make_rlhf_fixtures.py   # tiny-llama, tiny-llama-rm (inputs)
    python Reference/reference_ppo.py
Writes Tests/RLHFTests/Fixtures/tiny-llama-ref/, ppo_reference.json and
ppo_after_update.safetensors.
"""
import json
import pathlib
import shutil

import tokenizers
import torch
from transformers import LlamaForCausalLM, LlamaForSequenceClassification

from fixture_header import header, save_safetensors

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLHFTests/Fixtures"
PROMPTS = ["Tell me a story", "Hi", "What is the capital of France?", "Once upon a time"]
CFG = dict(temperature=0.7, kl_coef=0.05, gamma=0.99, lam=0.95, clip_ratio=0.2, vf_coef=0.1, cliprange_value=0.05,
           entropy_coef=0.01, missing_eos_penalty=1.0, lr_actor=1e-3, lr_critic=1e-3, max_gen_len=6,
           ppo_epochs=2, mini_batch_size=2, max_grad_norm=0.5, adaptive_kl_target=0.05, adaptive_kl_horizon=10.0,
           kl_penalty_beta=1.0, kl_penalty_target=0.01, reference_noise=0.02, reference_seed=11)
# Two fixed rollouts (one per iteration of the clip run). EOS ids of the tokenizer: 4 and 1.
# Rows end with EOS at various lengths, or run to max_gen_len without it (missing-EOS penalty).
ROLLOUTS = [
    [[40, 77, 305, 12, 4], [7, 8, 9, 10, 11, 13], [250, 1], [91, 92, 93, 4]],
    [[61, 62, 4], [300, 301, 302, 303, 304, 305], [17, 18, 19, 20, 1], [5, 4]],
]
PERMUTATIONS = [[[2, 0, 3, 1], [1, 3, 0, 2]], [[3, 1, 0, 2], [0, 2, 1, 3]]]  # [iteration][epoch]


def kl_estimate(kind, r):
    """KL(p || q) at a token sampled from p, from r = log p - log q."""
    if kind == "k1":
        return r
    if kind == "k2":
        return 0.5 * r * r
    return torch.expm1(-r) + r


class Batch:
    """Left-padded prompts + right-padded responses, as the Swift TokenBatch lays them out."""

    def __init__(self, prompt_ids, responses, pad, eos):
        self.hit_eos = [r[-1] in eos for r in responses]
        self.tp = max(len(p) for p in prompt_ids)
        self.a = max(len(r) for r in responses)
        tp, a = self.tp, self.a
        self.ids = torch.tensor([[pad] * (tp - len(p)) + p + r + [pad] * (a - len(r)) for p, r in zip(prompt_ids, responses)])
        self.mask = torch.tensor([[0] * (tp - len(p)) + [1] * (len(p) + len(r)) + [0] * (a - len(r))
                                  for p, r in zip(prompt_ids, responses)])
        self.pos = (self.mask.cumsum(-1) - 1).clamp(min=0)
        self.actions = self.ids[:, tp:]
        self.amask = self.mask[:, tp:].float()                                   # (B, A)
        self.lengths = self.amask.sum(1).long()

    def rows(self, idx):
        return self.ids[idx], self.mask[idx], self.pos[idx], self.actions[idx]


def action_logits(model, batch, idx, T):
    ids, mask, pos, _ = batch.rows(idx)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, batch.tp - 1:batch.tp - 1 + batch.a]
    return logits / T                                                            # (b, A, V)


def logprobs_of(logits, actions):
    return torch.log_softmax(logits, -1).gather(-1, actions[..., None])[..., 0]  # (b, A)


def values_of(model, batch, idx):
    ids, mask, pos, _ = batch.rows(idx)
    h = model.model(input_ids=ids, attention_mask=mask, position_ids=pos).last_hidden_state
    return model.score(h)[..., 0][:, batch.tp - 1:batch.tp - 1 + batch.a]       # (b, A)


def masked_mean(x, m):
    return (x * m).sum() / m.sum()


def make_experience(models, batch, beta, estimator):
    actor, ref, critic, rm = models
    b = batch.ids.shape[0]
    every = list(range(b))
    T = CFG["temperature"]
    with torch.no_grad():
        old = logprobs_of(action_logits(actor, batch, every, T), batch.actions)
        reflp = logprobs_of(action_logits(ref, batch, every, T), batch.actions)
        values = values_of(critic, batch, every)
        h = rm.model(input_ids=batch.ids, attention_mask=batch.mask, position_ids=batch.pos).last_hidden_state
        per_tok = rm.score(h)[..., 0]
        last = torch.tensor([int(torch.nonzero(batch.mask[i])[-1]) for i in range(b)])
        raw = per_tok[torch.arange(b), last]
    amask = batch.amask
    kl = kl_estimate(estimator, old - reflp) * amask
    rewards = -beta * kl
    score = raw - torch.tensor([0.0 if e else CFG["missing_eos_penalty"] for e in batch.hit_eos])
    for i in range(b):
        rewards[i, batch.lengths[i] - 1] += score[i]
    rewards = rewards * amask
    adv = torch.zeros_like(rewards)
    for i in range(b):
        gae, next_v = 0.0, 0.0
        for t in reversed(range(int(batch.lengths[i]))):
            delta = rewards[i, t] + CFG["gamma"] * next_v - values[i, t]
            gae = delta + CFG["gamma"] * CFG["lam"] * gae
            adv[i, t] = gae
            next_v = values[i, t]
    returns = (adv + values) * amask
    n = amask.sum()
    mean = (adv * amask).sum() / n
    var = (((adv - mean) ** 2) * amask).sum() / n * (n / (n - 1))              # unbiased masked variance
    whitened = (adv - mean) * torch.rsqrt(var + 1e-8) * amask
    return dict(old=old, ref=reflp, values=values, raw=raw, kl=kl, rewards=rewards, adv_raw=adv,
                advantages=whitened, returns=returns, kl_per_seq=kl.sum(1))


def update(models, opts, batch, exp, orders, objective, beta_pen=None):
    """ppo_epochs x minibatches; one step of each optimizer per minibatch."""
    actor, _, critic, _ = models
    opt_a, opt_c = opts
    T = CFG["temperature"]
    steps = []
    mb = CFG["mini_batch_size"]
    for order in orders:
        for start in range(0, len(order), mb):
            idx = order[start:start + mb]
            m = batch.amask[idx]
            logits = action_logits(actor, batch, idx, T)
            new = logprobs_of(logits, batch.actions[idx])
            log_ratio = new - exp["old"][idx]
            ratio = torch.exp(log_ratio)
            adv = exp["advantages"][idx]
            if objective == "clip":
                s1 = ratio * adv
                s2 = torch.clamp(ratio, 1 - CFG["clip_ratio"], 1 + CFG["clip_ratio"]) * adv
                pl = -masked_mean(torch.min(s1, s2), m)
                clipfrac = masked_mean((s2 < s1).float(), m)
            else:  # kl_penalty: -(ratio A - beta_pen * k3(old - new))
                pl = -masked_mean(ratio * adv - beta_pen * kl_estimate("k3", -log_ratio), m)
                clipfrac = torch.tensor(0.0)
            v = values_of(critic, batch, idx)
            v_old, ret = exp["values"][idx], exp["returns"][idx]
            vclip = v_old + torch.clamp(v - v_old, -CFG["cliprange_value"], CFG["cliprange_value"])
            e1, e2 = (v - ret) ** 2, (vclip - ret) ** 2
            vl = 0.5 * masked_mean(torch.max(e1, e2), m)
            # Clipped where V left the range and the clipped error won (inside it vclip == v
            # in exact arithmetic; rounding must not count).
            vclipfrac = masked_mean(((e2 > e1) & ((v - v_old).abs() > CFG["cliprange_value"])).float(), m)
            p = torch.softmax(logits, -1)
            ent = masked_mean(torch.logsumexp(logits, -1) - (p * logits).sum(-1), m)
            total = pl + CFG["vf_coef"] * vl - CFG["entropy_coef"] * ent
            total.backward()
            gn_a = torch.nn.utils.clip_grad_norm_(actor.parameters(), CFG["max_grad_norm"])
            gn_c = torch.nn.utils.clip_grad_norm_(critic.parameters(), CFG["max_grad_norm"])
            opt_a.step(); opt_c.step()
            opt_a.zero_grad(set_to_none=True); opt_c.zero_grad(set_to_none=True)
            with torch.no_grad():
                approx_kl = masked_mean(kl_estimate("k3", -log_ratio), m)
            steps.append(dict(rows=idx, policy_loss=pl.item(), value_loss=vl.item(), clip_fraction=clipfrac.item(),
                              value_clip_fraction=vclipfrac.item(), approx_kl=approx_kl.item(), entropy=ent.item(),
                              actor_grad_norm=gn_a.item(), critic_grad_norm=gn_c.item()))
    return steps


def post_update_kl(actor, batch, exp):
    """KL(pi_old || pi_new) over the rollout after the update: masked mean of k3 at the
    sampled tokens (unbiased: the tokens were drawn from pi_old)."""
    with torch.no_grad():
        new = logprobs_of(action_logits(actor, batch, list(range(batch.ids.shape[0])), CFG["temperature"]), batch.actions)
        return masked_mean(kl_estimate("k3", exp["old"] - new), batch.amask).item()


def load_models():
    actor = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama", attn_implementation="eager")
    ref = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama-ref", attn_implementation="eager").eval()
    critic = LlamaForSequenceClassification.from_pretrained(ROOT / "tiny-llama-rm", attn_implementation="eager")
    rm = LlamaForSequenceClassification.from_pretrained(ROOT / "tiny-llama-rm", attn_implementation="eager").eval()
    opts = (torch.optim.AdamW(actor.parameters(), lr=CFG["lr_actor"], weight_decay=0.0, foreach=False),
            torch.optim.AdamW(critic.parameters(), lr=CFG["lr_critic"], weight_decay=0.0, foreach=False))
    return (actor, ref, critic, rm), opts


def write_reference_model():
    """The actor's weights plus seeded Gaussian noise: a reference that differs from the actor."""
    model = LlamaForCausalLM.from_pretrained(ROOT / "tiny-llama")
    gen = torch.Generator().manual_seed(CFG["reference_seed"])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * CFG["reference_noise"])
    out = ROOT / "tiny-llama-ref"
    model.save_pretrained(out, safe_serialization=True)
    for f in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
        shutil.copy(ROOT / "tiny-llama" / f, out / f)


def tolist(exp):
    return {k: v.tolist() for k, v in exp.items()}


def main():
    torch.manual_seed(0)
    write_reference_model()
    tok = tokenizers.Tokenizer.from_file(str(ROOT / "tiny-llama/tokenizer.json"))
    eos = json.loads((ROOT / "tiny-llama/generation_config.json").read_text())["eos_token_id"]
    pad = eos[0]
    prompt_ids = [tok.encode(p).ids for p in PROMPTS]
    batches = [Batch(prompt_ids, r, pad, eos) for r in ROLLOUTS]
    after = {}

    # 1. The clip objective, k1 rewards, adaptive KL controller, two iterations.
    models, opts = load_models()
    beta = CFG["kl_coef"]
    clip_iterations = []
    for it, batch in enumerate(batches):
        exp = make_experience(models, batch, beta, "k1")
        steps = update(models, opts, batch, exp, PERMUTATIONS[it], "clip")
        kl_mean = exp["kl_per_seq"].mean().item()
        e = min(max(kl_mean / CFG["adaptive_kl_target"] - 1, -0.2), 0.2)
        beta_after = beta * (1 + e * len(PROMPTS) / CFG["adaptive_kl_horizon"])
        clip_iterations.append(dict(responses=ROLLOUTS[it], hit_eos=batch.hit_eos, orders=PERMUTATIONS[it], beta=beta,
                                    experience=tolist(exp), steps=steps, kl_mean=kl_mean, beta_after=beta_after))
        beta = beta_after
    for prefix, model in [("clip.actor.", models[0]), ("clip.critic.", models[2])]:
        after.update({prefix + k: v.detach().clone().contiguous() for k, v in model.named_parameters()})

    # 2. k2 and k3 reward rows on the first rollout with the starting models.
    models, opts = load_models()
    k2 = make_experience(models, batches[0], CFG["kl_coef"], "k2")
    k3 = make_experience(models, batches[0], CFG["kl_coef"], "k3")

    # 3. The kl_penalty objective (k3 rewards): one iteration, then beta_pen from the KL
    #    measured after the update (PPO paper, section 4).
    exp = k3
    steps = update(models, opts, batches[0], exp, PERMUTATIONS[0], "kl_penalty", beta_pen=CFG["kl_penalty_beta"])
    d = post_update_kl(models[0], batches[0], exp)
    b = CFG["kl_penalty_beta"]
    b_after = b / 2 if d < CFG["kl_penalty_target"] / 1.5 else (b * 2 if d > CFG["kl_penalty_target"] * 1.5 else b)
    for prefix, model in [("klpen.actor.", models[0]), ("klpen.critic.", models[2])]:
        after.update({prefix + k: v.detach().clone().contiguous() for k, v in model.named_parameters()})

    save_safetensors(after, ROOT / "ppo_after_update.safetensors", header(__file__))
    (ROOT / "ppo_reference.json").write_text(json.dumps({
        "header": header(__file__), "config": CFG, "prompts": PROMPTS, "prompt_ids": prompt_ids,
        "clip_run": clip_iterations,
        "k2_rewards": k2["rewards"].tolist(), "k3_rewards": k3["rewards"].tolist(),
        "kl_penalty_run": dict(steps=steps, post_update_kl=d, beta_pen=b, beta_pen_after=b_after),
    }, indent=1))
    for i, it in enumerate(clip_iterations):
        print(f"clip iteration {i}: beta {it['beta']:.5f} -> {it['beta_after']:.5f}, kl {it['kl_mean']:.4f}")
        for s in it["steps"]:
            print("   ", {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()})
    print("kl_penalty:", [{k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()} for s in steps])
    print("post-update KL", d, "beta_pen", b, "->", b_after)
    old, ref = torch.tensor(clip_iterations[0]["experience"]["old"]), torch.tensor(clip_iterations[0]["experience"]["ref"])
    print("max |old - ref|", ((old - ref) * batches[0].amask).abs().max().item())


if __name__ == "__main__":
    main()
