"""Golden values for the NN optimisation pieces: AdamW steps, gradient-norm clipping and
LR schedules, computed by PyTorch / transformers.

Regenerate (by hand, never in CI), from the repository root:
    python Reference/make_core_fixtures.py
in a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0 (see
Reference/fixture_header.py). Writes Tests/NNTests/Fixtures/optim_golden.json (generator, tool
versions and this command recorded in its header).
"""
import json
import math
import pathlib

import torch
from fixture_header import header
from transformers import get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/NNTests/Fixtures/optim_golden.json"


def values(shape, phase):
    """Deterministic, easily reproduced inputs (no RNG involved)."""
    n = math.prod(shape)
    return torch.tensor([math.sin(0.7 * i + phase) * (1 + 0.1 * i) for i in range(n)], dtype=torch.float32).reshape(shape)


def adamw_case(lr, betas, eps, weight_decay, steps):
    p = torch.nn.Parameter(values((3, 4), 0.3))
    q = torch.nn.Parameter(values((5,), 1.1))
    opt = torch.optim.AdamW([p, q], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
    grads, after = [], []
    for s in range(steps):
        gp, gq = values((3, 4), 2.0 + s) * 0.5, values((5,), 3.0 + s) * 2.0
        p.grad, q.grad = gp.clone(), gq.clone()
        opt.step()
        grads.append({"p": gp.flatten().tolist(), "q": gq.flatten().tolist()})
        after.append({"p": p.detach().flatten().tolist(), "q": q.detach().flatten().tolist()})
    return {
        "lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": weight_decay,
        "p0": values((3, 4), 0.3).flatten().tolist(), "q0": values((5,), 1.1).flatten().tolist(),
        "grads": grads, "after": after,
    }


def clip_case(max_norm):
    a = torch.nn.Parameter(torch.zeros(3, 4))
    b = torch.nn.Parameter(torch.zeros(7))
    a.grad, b.grad = values((3, 4), 0.5) * 3, values((7,), 1.5) * 3
    ga, gb = a.grad.clone(), b.grad.clone()
    norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm)
    return {"max_norm": max_norm, "a": ga.flatten().tolist(), "b": gb.flatten().tolist(),
            "total_norm": norm.item(), "a_after": a.grad.flatten().tolist(), "b_after": b.grad.flatten().tolist()}


def schedule(make, total=20, warmup=5):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make(opt, num_warmup_steps=warmup, num_training_steps=total)
    lrs = []
    for _ in range(total + 2):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return {"warmup": warmup, "total": total, "multipliers": lrs}


fixture = {
    "header": header(__file__),
    "adamw": [
        adamw_case(1e-2, (0.9, 0.999), 1e-8, 0.01, 4),
        adamw_case(3e-3, (0.9, 0.95), 1e-6, 0.1, 5),
        adamw_case(1e-1, (0.5, 0.9), 1e-3, 0.0, 3),
    ],
    "clip": [clip_case(1.0), clip_case(1000.0)],
    "linear_schedule": schedule(get_linear_schedule_with_warmup),
    "cosine_schedule": schedule(get_cosine_schedule_with_warmup),
}
OUT.parent.mkdir(parents=True, exist_ok=True)
OUT.write_text(json.dumps(fixture, indent=1))
print("wrote", OUT)
