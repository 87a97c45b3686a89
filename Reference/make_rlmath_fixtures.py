"""Golden values for RLMath: masked statistics, KL estimators, per-token rewards, GAE, the
PPO policy/value losses, entropy, Bradley-Terry and DPO losses, the KL controller and
running moments, written straight from shared/SPEC.md in PyTorch the way TRL / OpenRLHF
do it. Losses come with their gradients (torch autograd) w.r.t. the differentiable input.

Inputs are float32 values (so Swift sees exactly the same numbers); every formula is then
evaluated in float64. Ratios and values are kept at least 1e-3 away from clip boundaries so
float32 and float64 agree on which branch is active.

Regenerate (by hand, never in CI), from the repository root:
    python Reference/make_rlmath_fixtures.py
in a venv with torch==2.13.0+cpu (nothing else is used; see Reference/fixture_header.py).
Writes Tests/RLMathTests/Fixtures/rlmath_golden.json (generator, tool versions and this command
recorded in its header).
"""
import json
import math
import pathlib

import torch
from fixture_header import header

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLMathTests/Fixtures/rlmath_golden.json"
SEED = 20240611
gen = torch.Generator().manual_seed(SEED)

B, A, V = 4, 6, 11
LENGTHS = [6, 3, 1, 4]  # ragged: a full row, rows ending early, a single action token


def f32(*shape, lo=-1.0, hi=1.0):
    """Uniform float32 values, promoted to float64 for evaluation."""
    return (torch.rand(*shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo).double()


def flat(t):
    return [float(v) for v in t.detach().flatten().tolist()]


MASK = torch.zeros(B, A, dtype=torch.float64)
for i, n in enumerate(LENGTHS):
    MASK[i, :n] = 1


# --- formulas, as in TRL (trl/trainer/utils.py, ppo_trainer.py) ---------------------------
def masked_mean(x, mask, axis=None):
    if axis is None:
        return (x * mask).sum() / mask.sum()
    return (x * mask).sum(axis) / mask.sum(axis)


def masked_var(x, mask, unbiased=True):
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    if unbiased:
        n = mask.sum()
        var = var * n / (n - 1)
    return var


def masked_whiten(x, mask, shift_mean=True):
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    w = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        w = w + mean
    return w * mask  # SPEC 2: mask after whitening


def kl_est(r, kind):
    if kind == "k1":
        return r
    if kind == "k2":
        return 0.5 * r ** 2
    return torch.exp(-r) - 1 + r


def gae(rewards, values, mask, gamma, lam):
    # TRL's loop, on mask-zeroed rewards and values (right-ragged masks only).
    rewards, values = rewards * mask, values * mask
    lastgaelam = torch.zeros(rewards.shape[0], dtype=torch.float64)
    adv = []
    for t in reversed(range(rewards.shape[1])):
        nextvalues = values[:, t + 1] if t < rewards.shape[1] - 1 else 0.0
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        adv.append(lastgaelam)
    adv = torch.stack(adv[::-1], dim=1)
    returns = adv + values
    return adv * mask, returns * mask


def away_from(logratio, bounds, gap=1e-3):
    """Nudges log ratios whose ratio is within `gap` of a clip boundary."""
    r = logratio.exp()
    for b in bounds:
        close = (r - b).abs() < gap
        r = torch.where(close, r + 3 * gap, r)
    return r.log().float().double()


fixture = {
    "header": header(__file__, extra={"seed": SEED}),
    "B": B, "A": A, "V": V, "mask": flat(MASK),
}

# 1. masked statistics
x = f32(B, A, lo=-2, hi=3)
x_garbage = torch.where(MASK > 0, x, torch.full_like(x, 1e6))  # masked entries must not matter
fixture["stats"] = {
    "x": flat(x_garbage),
    "sum": float((x * MASK).sum()),
    "mean": float(masked_mean(x, MASK)),
    "row_sums": flat((x * MASK).sum(1)),
    "row_means": flat(masked_mean(x, MASK, axis=1)),
    "var_unbiased": float(masked_var(x, MASK, True)),
    "var_biased": float(masked_var(x, MASK, False)),
    "whiten": flat(masked_whiten(x, MASK, True)),
    "whiten_no_shift": flat(masked_whiten(x, MASK, False)),
}

# 2. KL estimators
lr = f32(3, 5, lo=-2, hi=2)
fixture["kl"] = {"log_ratio": flat(lr), **{k: flat(kl_est(lr, k)) for k in ("k1", "k2", "k3")}}

# 3. rewards
old = f32(B, A, lo=-4, hi=-0.5)
ref = (old + f32(B, A, lo=-0.5, hi=0.5)).float().double()
scores = f32(B, lo=-3, hi=3)
ends_with_eos = [True, False, True, False]
reward_cases = []
for kind, beta, penalty, clip in [("k1", 0.05, None, None), ("k2", 0.1, 1.0, None), ("k3", 0.2, 0.5, 1.5)]:
    s = scores.clone()
    if penalty is not None:
        s = s - penalty * torch.tensor([0.0 if e else 1.0 for e in ends_with_eos], dtype=torch.float64)
    if clip is not None:
        s = s.clamp(-clip, clip)
    kl = kl_est(old - ref, kind) * MASK
    rewards = -beta * kl
    last = (MASK * torch.arange(A)).argmax(1)  # last valid action token of each row
    rewards[torch.arange(B), last] += s
    reward_cases.append({
        "estimator": kind, "beta": beta, "missing_eos_penalty": penalty, "clip": clip,
        "rewards": flat(rewards), "kl": flat(kl), "kl_sum": flat(kl.sum(1)), "scores": flat(s),
    })
fixture["rewards"] = {"old": flat(old), "ref": flat(ref), "scores": flat(scores),
                      "ends_with_eos": ends_with_eos, "cases": reward_cases}

# 4. GAE
rew = f32(B, A, lo=-1, hi=1)
val = f32(B, A, lo=-1, hi=1)
val_garbage = torch.where(MASK > 0, val, torch.full_like(val, 100.0))
rew_garbage = torch.where(MASK > 0, rew, torch.full_like(rew, -50.0))
gae_cases = []
for gamma, lam in [(1.0, 0.95), (0.99, 0.95), (0.9, 0.0)]:
    adv, ret = gae(rew, val, MASK, gamma, lam)
    gae_cases.append({"gamma": gamma, "lambda": lam, "advantages": flat(adv), "returns": flat(ret)})
fixture["gae"] = {"rewards": flat(rew_garbage), "values": flat(val_garbage), "cases": gae_cases}

# 5a. clipped policy loss
eps = 0.2
old_lp = f32(B, A, lo=-3, hi=-0.2)
new_lp = (old_lp + away_from(f32(B, A, lo=-0.4, hi=0.4), [1 - eps, 1 + eps])).float().double()
adv = f32(B, A, lo=-2, hi=2)
nl = new_lp.clone().requires_grad_(True)
log_ratio = nl - old_lp
ratio = torch.exp(log_ratio)
pg1 = -adv * ratio
pg2 = -adv * torch.clamp(ratio, 1 - eps, 1 + eps)
loss = masked_mean(torch.max(pg1, pg2), MASK)
loss.backward()
fixture["policy_clip"] = {
    "eps": eps, "old": flat(old_lp), "new": flat(new_lp), "advantages": flat(adv),
    "loss": loss.item(), "grad": flat(nl.grad),
    "clip_fraction": float(masked_mean((pg2 > pg1).double(), MASK)),
    "approx_kl": masked_mean((ratio - 1) - log_ratio, MASK).item(),
}

# 5b. KL-penalty policy loss, each estimator on r = log pi_old - log pi_theta
kl_pen = []
for kind, beta in [("k1", 0.3), ("k2", 0.5), ("k3", 1.0)]:
    nl = new_lp.clone().requires_grad_(True)
    log_ratio = nl - old_lp
    ratio = torch.exp(log_ratio)
    kl = kl_est(-log_ratio, kind)
    loss = -masked_mean(ratio * adv - beta * kl, MASK)
    loss.backward()
    kl_pen.append({"estimator": kind, "beta": beta, "loss": loss.item(), "grad": flat(nl.grad),
                   "penalty_kl": masked_mean(kl, MASK).item()})
fixture["policy_kl_penalty"] = kl_pen

# 5c. value loss (clipped and plain)
eps_v = 0.2
v_old = f32(B, A, lo=-1, hi=1)
v_new = (v_old + f32(B, A, lo=-0.5, hi=0.5)).float().double()
d = v_new - v_old
near = ((d.abs() - eps_v).abs() < 1e-3)
v_new = torch.where(near, v_new + 3e-3 * d.sign(), v_new).float().double()
returns = f32(B, A, lo=-1.5, hi=1.5)
value_cases = []
for clip in (eps_v, None):
    vp = v_new.clone().requires_grad_(True)
    l1 = (vp - returns) ** 2
    if clip is None:
        loss = 0.5 * masked_mean(l1, MASK)
        frac = 0.0
    else:
        vclip = torch.clamp(vp, v_old - clip, v_old + clip)
        l2 = (vclip - returns) ** 2
        loss = 0.5 * masked_mean(torch.max(l1, l2), MASK)
        frac = float(masked_mean((l2 > l1).double(), MASK))
    loss.backward()
    value_cases.append({"clip": clip, "loss": loss.item(), "grad": flat(vp.grad), "clip_fraction": frac})
fixture["value"] = {"old": flat(v_old), "new": flat(v_new), "returns": flat(returns), "cases": value_cases}

# 5d. entropy from logits (B, A, V)
logits = f32(B, A, V, lo=-4, hi=4)
lg = logits.clone().requires_grad_(True)
logp = torch.log_softmax(lg, -1)
ent = -(logp.exp() * logp).sum(-1)  # == logsumexp(x) - Σ softmax(x) x
loss = masked_mean(ent, MASK)
loss.backward()
fixture["entropy"] = {"logits": flat(logits), "per_token": flat(ent), "loss": loss.item(), "grad": flat(lg.grad)}

# 5e. Bradley-Terry (TRL RewardTrainer.compute_loss)
P = 7
rc0, rr0 = f32(P, lo=-2, hi=2), f32(P, lo=-2, hi=2)
margin = f32(P, lo=0, hi=1)
bt = []
for use_margin, center in [(False, None), (True, None), (True, 0.01)]:
    rc, rr = rc0.clone().requires_grad_(True), rr0.clone().requires_grad_(True)
    if use_margin:
        loss = -torch.nn.functional.logsigmoid(rc - rr - margin).mean()
    else:
        loss = -torch.nn.functional.logsigmoid(rc - rr).mean()
    if center is not None:
        loss = loss + center * torch.mean((rc + rr) ** 2)
    loss.backward()
    bt.append({"margin": use_margin, "center": center, "loss": loss.item(),
               "grad_chosen": flat(rc.grad), "grad_rejected": flat(rr.grad)})
fixture["bradley_terry"] = {
    "chosen": flat(rc0), "rejected": flat(rr0), "margin": flat(margin), "cases": bt,
    "accuracy": float((rc0 > rr0).double().mean()), "mean_margin": float((rc0 - rr0).mean()),
}

# 5f. DPO (TRL DPOTrainer.dpo_loss, loss_type="sigmoid")
pc0, pr0 = f32(P, lo=-30, hi=-10), f32(P, lo=-30, hi=-10)
refc, refr = f32(P, lo=-30, hi=-10), f32(P, lo=-30, hi=-10)
dpo = []
for beta, ls in [(0.1, 0.0), (0.5, 0.1)]:
    pc, pr = pc0.clone().requires_grad_(True), pr0.clone().requires_grad_(True)
    logits_ = (pc - pr) - (refc - refr)
    losses = (-torch.nn.functional.logsigmoid(beta * logits_) * (1 - ls)
              - torch.nn.functional.logsigmoid(-beta * logits_) * ls)
    loss = losses.mean()
    loss.backward()
    cr, rj = beta * (pc0 - refc), beta * (pr0 - refr)
    dpo.append({"beta": beta, "label_smoothing": ls, "loss": loss.item(),
                "grad_chosen": flat(pc.grad), "grad_rejected": flat(pr.grad),
                "accuracy": float((cr > rj).double().mean()), "mean_margin": float((cr - rj).mean())})
fixture["dpo"] = {"policy_chosen": flat(pc0), "policy_rejected": flat(pr0),
                  "ref_chosen": flat(refc), "ref_rejected": flat(refr), "cases": dpo}

# 6a. adaptive KL controller (TRL AdaptiveKLController), a sequence of updates
kls = [3.0, 12.0, 6.5, 0.1, 5.9, 20.0]
beta, target, horizon, n_steps = 0.2, 6.0, 10000.0, 512
betas = []
for k in kls:
    err = min(max(k / target - 1, -0.2), 0.2)
    beta *= 1 + err * n_steps / horizon
    betas.append(beta)
fixture["kl_controller"] = {"init": 0.2, "target": target, "horizon": horizon, "n_steps": n_steps,
                            "kls": kls, "betas": betas}


# 6b. running moments (TRL RunningMoments, Chan's parallel merge), in float64
class RunningMoments:
    def __init__(self):
        self.mean, self.std, self.var, self.count = 0.0, 1.0, 1.0, 1e-24

    def update(self, xs):
        xs_count = xs.numel()
        xs_var, xs_mean = torch.var_mean(xs, unbiased=False)
        delta = xs_mean - self.mean
        tot_count = self.count + xs_count
        new_sum = xs_var * xs_count
        old_sum = self.var * self.count + delta ** 2 * self.count * xs_count / tot_count
        tot_sum = old_sum + new_sum
        self.mean += (delta * xs_count / tot_count).item()
        new_var = tot_sum / tot_count
        self.std = (new_var * tot_count / (tot_count - 1)).sqrt().item()
        self.var = new_var.item()
        self.count = tot_count
        return xs_mean.item(), (xs_var * xs_count / (xs_count - 1)).sqrt().item()


rm = RunningMoments()
batches, states = [], []
for n, lo, hi in [(8, -1, 3), (5, 2, 6), (13, -4, 0)]:
    xs = f32(n, lo=lo, hi=hi)
    bm, bs = rm.update(xs)
    batches.append(flat(xs))
    states.append({"mean": rm.mean, "var": rm.var, "std": rm.std, "count": float(rm.count),
                   "batch_mean": bm, "batch_std": bs})
all_x = torch.cat([torch.tensor(b, dtype=torch.float64) for b in batches])
fixture["running_moments"] = {"batches": batches, "states": states,
                              "all_mean": float(all_x.mean()), "all_std": float(all_x.std())}

# 6c. explained variance over valid tokens
ev_v = f32(B, A, lo=-1, hi=1)
ev_r = (ev_v + f32(B, A, lo=-0.5, hi=0.5)).float().double()
def mvar(t):
    return masked_var(t, MASK, unbiased=False)
fixture["explained_variance"] = {
    "values": flat(torch.where(MASK > 0, ev_v, torch.full_like(ev_v, 7.0))),
    "returns": flat(torch.where(MASK > 0, ev_r, torch.full_like(ev_r, -7.0))),
    "ev": float(1 - mvar(ev_r - ev_v) / mvar(ev_r)),
}

OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(fixture, indent=1) + "\n")
print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
