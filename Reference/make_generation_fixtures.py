"""Greedy continuations from transformers `generate(do_sample=False)` for the fixture models
of Tests/ModelsTests/Fixtures, on a left-padded batch of prompts of different lengths.

Regenerate (by hand, never in CI; run make_model_fixtures.py first), from the repository root:
    python Reference/make_generation_fixtures.py
in a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0 (see
Reference/fixture_header.py). Writes Tests/GenerationTests/Fixtures/greedy.json (generator, tool
versions and this command recorded in its header).
"""
import json
import pathlib

import torch
from fixture_header import header
from transformers import AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "Tests/ModelsTests/Fixtures"
OUT = ROOT / "Tests/GenerationTests/Fixtures/greedy.json"
PAD = 96
PROMPTS = [[5, 17, 42, 8, 90, 3, 61], [11, 23, 75], [40, 41, 42, 43, 44]]
MAX_NEW = 10


def main():
    cases = {}
    for name in ["gpt2", "llama", "qwen2"]:
        model = AutoModelForCausalLM.from_pretrained(MODELS / name, attn_implementation="eager").eval()
        width = max(len(p) for p in PROMPTS)
        ids = torch.tensor([[PAD] * (width - len(p)) + p for p in PROMPTS])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in PROMPTS])
        # EOS = a token these tiny models actually emit, so early stopping is exercised:
        # take the greedy continuation without EOS and make its 4th token of row 1 the EOS.
        with torch.no_grad():
            free = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=MAX_NEW,
                                  pad_token_id=PAD, eos_token_id=None)
        eos = int(free[1, width + 3])
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=MAX_NEW,
                                 pad_token_id=PAD, eos_token_id=eos)
        cases[name] = {"eos": eos, "responses": out[:, width:].tolist()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "header": header(__file__),
        "prompts": PROMPTS, "pad": PAD, "max_new_tokens": MAX_NEW, "cases": cases}, indent=1))
    print(json.dumps(cases))


if __name__ == "__main__":
    main()
