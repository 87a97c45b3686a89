"""The source article's PyTorch PPO loop (docs/algorithms.md section 5 lists it, section 4
describes one iteration), timed phase by phase on the shapes `rlhf-bench ppo` runs, for
`rlhf-bench ppo --compare-pytorch PYTHON` to run in the same sitting and divide by. Its
computation is kept as the article has it (log-softmax over every position, top-k 50
sampling, default AdamW weight decay), since that is what is timed.

Four GPT-2-124M-shaped models from `transformers.GPT2Config()` with random weights (fixed
seed, nothing downloaded): actor (GPT2LMHeadModel), reference (a copy of the actor, frozen),
critic and reward model (GPT2Model trunk + Linear(768, 1, bias=False) per token). One
iteration: rollout of R random prompts of P tokens with `generate(do_sample=True, top_k=50)`,
exactly N new tokens (EOS suppressed by min_new_tokens, like our bench); scoring (no-grad
logprobs of actor and reference over all positions, values, reward of the last token, KL
rewards, GAE, whitening); then E epochs over shuffled minibatches of M rows: forward
(logprobs + values), clipped policy loss + 0.1 x value loss, backward,
clip_grad_norm_(1.0) on both models, AdamW steps (lr 1e-5 actor, 5e-5 critic).

Prints one JSON line: seconds of rollout, scoring, update (= forward + backward + clip +
adamw + minibatch slicing), forward, backward, clip, adamw (zero_grad included, as our bench
counts it), total; the median iteration by total after a short warm-up.

Environment: fixture_header.py's (torch 2.13.0+cpu, transformers 5.24.0). Run from the
repository root, e.g.:
    python Reference/article_ppo_loop.py --threads 2
    python Reference/article_ppo_loop.py --threads 2 --autocast-bf16
Leaves out: tokenisation and text (prompts are random ids), the progress bar, saving.
"""
import argparse
import contextlib
import copy
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model


class ScalarHead(nn.Module):
    """Critic / reward model: a GPT-2 trunk and one score per token."""

    def __init__(self, config):
        super().__init__()
        self.model = GPT2Model(config)
        self.score = nn.Linear(config.hidden_size, 1, bias=False)

    def forward(self, input_ids, attention_mask=None):
        hidden = self.model(input_ids, attention_mask=attention_mask)[0]   # (B, T, C)
        return self.score(hidden).squeeze(-1)                               # (B, T)


def log_probs_and_values(model, input_ids, attention_mask, critic=None):
    """Per-token log pi(a_t | s_t) over every position (B, T-1), and the critic's values."""
    logits = model(input_ids, attention_mask=attention_mask, output_hidden_states=True).logits
    log_probs = F.log_softmax(logits.float(), dim=-1)
    selected = torch.gather(log_probs[:, :-1, :], -1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    values = None
    if critic is not None:
        values = critic(input_ids, attention_mask=attention_mask)[:, :-1].float()
    return selected, values


def compute_gae(rewards, values, gamma, lam, mask):
    values_ext = torch.cat([values, torch.zeros((values.shape[0], 1))], dim=1)
    gae = 0
    advantages = torch.zeros_like(rewards)
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * values_ext[:, t + 1] - values_ext[:, t]
        gae = delta + gamma * lam * gae
        advantages[:, t] = gae * mask[:, t]
    return advantages, advantages + values


def iteration(models, args, index, new_tokens, epochs, minibatch_limit):
    actor, ref, critic, reward, opt_actor, opt_critic = models
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.autocast_bf16 else contextlib.nullcontext
    t = dict(rollout=0.0, scoring=0.0, update=0.0, forward=0.0, backward=0.0, clip=0.0, adamw=0.0)
    gen = torch.Generator().manual_seed(100 + index)
    prompts = torch.randint(0, actor.config.vocab_size, (args.rollout, args.prompt_length), generator=gen)

    # 1. Rollout.
    start = time.perf_counter()
    torch.manual_seed(index)
    with torch.no_grad(), autocast():
        full_ids = actor.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=new_tokens,
                                  min_new_tokens=new_tokens, do_sample=True, top_k=50,
                                  pad_token_id=actor.config.eos_token_id)
    t["rollout"] = time.perf_counter() - start

    # 2. Scoring: logprobs, reference logprobs, values, reward; KL rewards, GAE, whitening.
    start = time.perf_counter()
    with torch.no_grad():
        attention_mask = torch.ones_like(full_ids)
        action_mask = torch.zeros_like(full_ids)
        action_mask[:, args.prompt_length:] = 1
        mask = action_mask[:, 1:].float()
        with autocast():
            old_lp, old_values = log_probs_and_values(actor, full_ids, attention_mask, critic)
            ref_lp, _ = log_probs_and_values(ref, full_ids, attention_mask, None)
            scores = reward(full_ids, attention_mask=attention_mask).float()
        last = attention_mask.sum(dim=1) - 1
        env_rewards = scores[torch.arange(scores.size(0)), last]
        rewards = -args.kl_coef * (old_lp - ref_lp)
        last_seq = torch.clamp(last - 1, min=0)
        for i in range(len(env_rewards)):
            rewards[i, last_seq[i]] += env_rewards[i]
        rewards = rewards * mask
        old_values = old_values * mask
        advantages, returns = compute_gae(rewards, old_values, args.gamma, args.lam, mask)
        valid = advantages[mask == 1]
        advantages = (advantages - valid.mean()) / (valid.std() + 1e-8) * mask
    t["scoring"] = time.perf_counter() - start

    # 3. Update.
    start = time.perf_counter()
    actor.train()
    critic.train()
    rng = np.random.default_rng(7 + index)
    indices = np.arange(full_ids.size(0))
    steps = 0
    for _ in range(epochs):
        rng.shuffle(indices)
        for lo in range(0, len(indices), args.mini_batch):
            if steps >= minibatch_limit:
                break
            idx = torch.from_numpy(indices[lo:lo + args.mini_batch].copy())
            mb_ids, mb_mask = full_ids[idx], mask[idx]
            f0 = time.perf_counter()
            with autocast():
                new_lp, new_values = log_probs_and_values(actor, mb_ids, attention_mask[idx], critic)
            ratio = torch.exp(new_lp - old_lp[idx])
            surr1 = ratio * advantages[idx]
            surr2 = torch.clamp(ratio, 1 - args.clip_ratio, 1 + args.clip_ratio) * advantages[idx]
            policy_loss = -torch.min(surr1, surr2).sum() / mb_mask.sum()
            value_loss = F.mse_loss(new_values * mb_mask, returns[idx] * mb_mask, reduction="sum") / mb_mask.sum()
            total_loss = policy_loss + args.vf_coef * value_loss
            f1 = time.perf_counter()
            total_loss.backward()
            f2 = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(actor.parameters(), 1.0)
            torch.nn.utils.clip_grad_norm_(critic.parameters(), 1.0)
            f3 = time.perf_counter()
            opt_actor.step()
            opt_critic.step()
            opt_actor.zero_grad()
            opt_critic.zero_grad()
            f4 = time.perf_counter()
            t["forward"] += f1 - f0
            t["backward"] += f2 - f1
            t["clip"] += f3 - f2
            t["adamw"] += f4 - f3
            steps += 1
    t["update"] = time.perf_counter() - start
    t["total"] = t["rollout"] + t["scoring"] + t["update"]
    return t


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch.set_num_threads")
    p.add_argument("--autocast-bf16", action="store_true", help="forwards under torch.autocast(bfloat16)")
    p.add_argument("--iterations", type=int, default=1, help="timed iterations (median printed)")
    p.add_argument("--model", choices=["gpt2", "small"], default="gpt2",
                   help="gpt2: GPT2Config() (124M); small: 2 layers, 128 wide, vocab 512 (smoke runs)")
    p.add_argument("--rollout", type=int, default=8)
    p.add_argument("--prompt-length", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--mini-batch", type=int, default=2)
    p.add_argument("--kl-coef", type=float, default=0.05)
    p.add_argument("--gamma", type=float, default=1.0)
    p.add_argument("--lam", type=float, default=0.95)
    p.add_argument("--clip-ratio", type=float, default=0.2)
    p.add_argument("--vf-coef", type=float, default=0.1)
    args = p.parse_args()
    for name in ("threads", "iterations", "rollout", "prompt_length", "new_tokens", "epochs", "mini_batch"):
        if getattr(args, name) < 1:
            sys.exit(f"article_ppo_loop.py: --{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "small":
        config = GPT2Config(vocab_size=512, n_embd=128, n_layer=2, n_head=4, n_positions=1024,
                            bos_token_id=511, eos_token_id=511)
    else:
        config = GPT2Config()
    actor = GPT2LMHeadModel(config)
    ref = copy.deepcopy(actor).eval()
    critic = ScalarHead(config)
    reward = ScalarHead(config).eval()
    models = (actor, ref, critic, reward,
              torch.optim.AdamW(actor.parameters(), lr=1e-5), torch.optim.AdamW(critic.parameters(), lr=5e-5))

    iteration(models, args, 0, new_tokens=min(4, args.new_tokens), epochs=1, minibatch_limit=1)   # warm-up
    runs = [iteration(models, args, i + 1, args.new_tokens, args.epochs, float("inf")) for i in range(args.iterations)]
    t = sorted(runs, key=lambda r: r["total"])[len(runs) // 2]
    shape = f"r{args.rollout}_p{args.prompt_length}_n{args.new_tokens}_e{args.epochs}_mb{args.mini_batch}"
    print(json.dumps({**{k: round(v, 4) for k, v in t.items()}, "threads": args.threads,
                      "autocast_bf16": args.autocast_bf16, "model": args.model, "shape": shape,
                      "torch": torch.__version__, "iterations": args.iterations}))


if __name__ == "__main__":
    main()
