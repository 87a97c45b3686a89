"""Golden values for the critic-free and offline RL formulas in RLMath, written from the
papers (not from our Swift code): GRPO advantages with group / batch / no scaling (Shao et
al. 2024; Dr. GRPO, Liu et al. 2025), RLOO's leave-one-out baseline (Ahmadian et al. 2024),
REINFORCE++ returns whitened over the batch and its group-baseline variant (Hu 2025), the
clipped surrogate with DAPO's separate clip ranges (Yu et al. 2025), GRPO's k3 KL term in
the loss and the three loss aggregations, and the DPO family: sigmoid with label smoothing
(Rafailov et al. 2023; conservative DPO), IPO (Azar et al. 2023), hinge (SLiC) and
reference-free. Losses come with their gradients (autograd).

Inputs are float32 values (Swift sees the same numbers); formulas run in float64. Ratios are
kept at least 1e-3 away from the clip boundaries so float32 rounding cannot flip a branch.

Regenerate from the repository root, in the environment fixture_header.py describes:
    python Reference/make_rl_family_fixtures.py
Writes Tests/RLMathTests/Fixtures/rl_family_golden.json.
"""
import json
import pathlib

import torch
from fixture_header import header

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLMathTests/Fixtures/rl_family_golden.json"
SEED = 20261126
gen = torch.Generator().manual_seed(SEED)
B, A, G = 4, 6, 2
LENGTHS = [6, 3, 1, 4]
MASK = torch.zeros(B, A, dtype=torch.float64)
for i, n in enumerate(LENGTHS):
    MASK[i, :n] = 1


def f32(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo).double()


def flat(t):
    return [float(v) for v in t.detach().flatten().tolist()]


def masked_mean(x, m):
    return (x * m).sum() / m.sum()


def whiten(x, m):
    mean = masked_mean(x, m)
    n = m.sum()
    var = masked_mean((x - mean) ** 2, m) * n / (n - 1)
    return (x - mean) * torch.rsqrt(var + 1e-8) * m


# --- group advantages ---------------------------------------------------------------------
def grpo(scores, g, scale, eps=1e-4):
    grouped = scores.view(-1, g)
    centred = (grouped - grouped.mean(1, keepdim=True)).view(-1)
    if scale == "group":
        return centred / (grouped.std(1).repeat_interleave(g) + eps)
    if scale == "batch":
        return centred / (scores.std() + eps)
    return centred


def rloo(scores, g):
    grouped = scores.view(-1, g)
    baseline = (grouped.sum(1, keepdim=True) - grouped) / (g - 1)
    return (grouped - baseline).view(-1)


def reinforce_pp(rewards, m):
    returns = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], dtype=torch.float64)
    for t in reversed(range(rewards.shape[1])):
        running = running + rewards[:, t] * m[:, t]
        returns[:, t] = running * m[:, t]
    return whiten(returns, m)


# --- policy loss --------------------------------------------------------------------------
def k3(r):
    return torch.exp(-r) - 1 + r


def aggregate(per_token, m, kind, normalizer=None):
    if kind == "token_mean":
        return (per_token * m).sum() / m.sum()
    if kind == "sequence_mean":
        return ((per_token * m).sum(1) / m.sum(1)).mean()
    return (per_token * m).sum() / normalizer


def policy_case(new, old, adv, ref, low, high, kind, beta, normalizer=None):
    new = new.clone().requires_grad_(True)
    log_ratio = new - old
    ratio = torch.exp(log_ratio)
    s1, s2 = ratio * adv, torch.clamp(ratio, 1 - low, 1 + high) * adv
    per_token = -torch.min(s1, s2)
    case = {"clip_low": low, "clip_high": high, "aggregation": kind, "normalizer": normalizer, "beta": beta}
    if beta is not None:
        kl = k3(new - ref)
        per_token = per_token + beta * kl
        case["reference_kl"] = masked_mean(kl, MASK).item()
    loss = aggregate(per_token, MASK, kind, normalizer)
    loss.backward()
    case.update(loss=loss.item(), grad=flat(new.grad), clip_fraction=masked_mean((s2 < s1).double(), MASK).item(),
                approx_kl=masked_mean(k3(-log_ratio), MASK).item())
    return case


# --- DPO family ---------------------------------------------------------------------------
def dpo_case(kind, beta, pc, pr, rc, rr, label_smoothing=0.0):
    pc, pr = pc.clone().requires_grad_(True), pr.clone().requires_grad_(True)
    chosen = pc - (rc if rc is not None else 0)
    rejected = pr - (rr if rr is not None else 0)
    h = chosen - rejected
    if kind == "sigmoid":
        losses = (-torch.nn.functional.logsigmoid(beta * h) * (1 - label_smoothing)
                  - torch.nn.functional.logsigmoid(-beta * h) * label_smoothing)
    elif kind == "ipo":
        losses = (h - 1 / (2 * beta)) ** 2
    else:
        losses = torch.relu(1 - beta * h)
    loss = losses.mean()
    loss.backward()
    cr, rj = beta * chosen.detach(), beta * rejected.detach()
    return {"type": kind, "beta": beta, "label_smoothing": label_smoothing, "reference_free": rc is None,
            "loss": loss.item(), "grad_chosen": flat(pc.grad), "grad_rejected": flat(pr.grad),
            "accuracy": (cr > rj).double().mean().item(), "margin": (cr - rj).mean().item()}


def main():
    fixture = {"header": header(__file__, extra={"seed": SEED}), "B": B, "A": A, "G": G, "lengths": LENGTHS}

    scores = f32(8, lo=-2, hi=2)
    fixture["group"] = {"scores": flat(scores), "group_size": 4,
                        "grpo": {s: flat(grpo(scores, 4, s)) for s in ["group", "batch", "none"]},
                        "rloo": flat(rloo(scores, 4))}
    rewards = f32(B, A, lo=-1, hi=1) * MASK
    scores4 = f32(B, lo=-2, hi=2)
    fixture["reinforce_pp"] = {"rewards": flat(rewards), "advantages": flat(reinforce_pp(rewards, MASK)),
                               "scores": flat(scores4), "centred": flat(grpo(scores4, G, "none"))}

    old = f32(B, A, lo=-3, hi=-0.5)
    step = f32(B, A, lo=-0.4, hi=0.4)
    for bound in [torch.log(torch.tensor(0.8, dtype=torch.float64)), torch.log(torch.tensor(1.2, dtype=torch.float64)),
                  torch.log(torch.tensor(1.28, dtype=torch.float64))]:
        near = (step - bound).abs() < 1e-3
        step[near] += 3e-3
    new = (old + step).float().double()
    adv = f32(B, A, lo=-2, hi=2)
    ref = (old + f32(B, A, lo=-0.3, hi=0.3)).float().double()
    cases = [policy_case(new, old, adv, ref, 0.2, 0.2, "token_mean", None),
             policy_case(new, old, adv, ref, 0.2, 0.28, "token_mean", None),
             policy_case(new, old, adv, ref, 0.2, 0.2, "sequence_mean", 0.04),
             policy_case(new, old, adv, ref, 0.2, 0.28, "constant", 0.04, normalizer=float(G * A))]
    fixture["policy"] = {"new": flat(new), "old": flat(old), "advantages": flat(adv), "ref": flat(ref), "cases": cases}

    pc, pr = f32(6, lo=-30, hi=-5), f32(6, lo=-30, hi=-5)
    rc, rr = f32(6, lo=-30, hi=-5), f32(6, lo=-30, hi=-5)
    fixture["dpo"] = {"policy_chosen": flat(pc), "policy_rejected": flat(pr), "ref_chosen": flat(rc), "ref_rejected": flat(rr),
                      "cases": [dpo_case("sigmoid", 0.1, pc, pr, rc, rr),
                                dpo_case("sigmoid", 0.1, pc, pr, rc, rr, label_smoothing=0.1),
                                dpo_case("ipo", 0.1, pc / 8, pr / 8, rc / 8, rr / 8),
                                dpo_case("hinge", 0.1, pc, pr, rc, rr),
                                dpo_case("sigmoid", 0.1, pc, pr, None, None)]}
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
