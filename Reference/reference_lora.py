"""LoRA goldens from PEFT on the tiny Models fixtures (gpt2, llama, qwen2), and the check that
PEFT loads the adapters this package writes.

Mode 1 (default) writes, for each model, Tests/ModelsTests/Fixtures/lora/<name>/:
  adapter_config.json + adapter_model.safetensors  saved by PEFT's save_pretrained (B drawn at
      random so the adapter is active; base_model_name_or_path set to "../../<name>", the
      base fixture folder relative to the adapter folder),
  golden.safetensors  logits with the adapter, logits with it disabled, logits of
      merge_and_unload(), and "grad.<PEFT key>" for every lora_A / lora_B under the labels= loss,
  golden.json         header, loss, the LoraConfig used.
Mode 2 (`--check-ours DIR`): DIR/<name>/ holds an adapter our code saved plus ours.safetensors
  (our logits for the same batch), written by `LoRATests` when RLHF_LORA_EXPORT=DIR is set.
  PEFT loads each adapter onto the base with PeftModel.from_pretrained; the max |logits diff|
  is printed and recorded in Tests/ModelsTests/Fixtures/lora/peft_loads_ours.json (limit 1e-4).

Regenerate (by hand, never in CI), from the repository root:
    python Reference/reference_lora.py
    RLHF_LORA_EXPORT=/tmp/lora-ours swift test -c release --filter LoRAExport
    python Reference/reference_lora.py --check-ours /tmp/lora-ours
in the base venv of Reference/fixture_header.py plus peft==0.21.2.
"""
import json
import pathlib
import sys

import safetensors.torch
import torch
from fixture_header import header as fixture_header, save_safetensors
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelsTests/Fixtures"
OUT = FIXTURES / "lora"
PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "peft")

# One LoraConfig per fixture, covering every target name, both scalings and a partial target set.
CONFIGS = {
    "gpt2": dict(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj", "c_fc"], use_rslora=False),
    "llama": dict(r=4, lora_alpha=6, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                     "down_proj"], use_rslora=True),
    "qwen2": dict(r=2, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"], use_rslora=False),
}


def batch(name):
    """The left-padded batch of the base fixture's golden (Reference/make_model_fixtures.py)."""
    g = safetensors.torch.load_file(str(FIXTURES / name / "golden.safetensors"))
    return g["input_ids"], g["attention_mask"], g["position_ids"], g["labels"]


def load_base(name):
    model = AutoModelForCausalLM.from_pretrained(str(FIXTURES / name), torch_dtype=torch.float32,
                                                 attn_implementation="eager")
    return model.eval()


def peft_key(name):
    """PEFT's saved key for a parameter of the live model: the adapter name dropped."""
    return name.replace(".default", "")


def make_goldens():
    header = fixture_header(__file__, packages=PACKAGES, extra={"seed": 0}, also_install="peft==0.21.2")
    for name, cfg in CONFIGS.items():
        torch.manual_seed(0)
        ids, mask, pos, labels = batch(name)
        model = get_peft_model(load_base(name), LoraConfig(lora_dropout=0.0, bias="none", task_type="CAUSAL_LM", **cfg))
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.2)  # PEFT inits B to zero; a random B makes the adapter change the output
        model.eval()
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, labels=labels)
        out.loss.backward()
        golden = {"logits": out.logits.detach().contiguous()}
        for n, p in model.named_parameters():
            if p.requires_grad:
                golden["grad." + peft_key(n)] = p.grad.detach().contiguous()
        with torch.no_grad(), model.disable_adapter():
            golden["logits_disabled"] = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.contiguous()
        adapter_dir = OUT / name
        model.peft_config["default"].base_model_name_or_path = f"../../{name}"
        model.save_pretrained(str(adapter_dir))
        (adapter_dir / "README.md").unlink()  # PEFT's model-card stub, naming this machine's paths
        with torch.no_grad():
            merged = model.merge_and_unload()
            golden["logits_merged"] = merged(input_ids=ids, attention_mask=mask, position_ids=pos).logits.contiguous()
        save_safetensors(golden, adapter_dir / "golden.safetensors", header)
        (adapter_dir / "golden.json").write_text(json.dumps(
            {"header": header, "loss": out.loss.item(), "lora_config": cfg}, indent=1) + "\n")
        d = (golden["logits"] - golden["logits_merged"]).abs().max().item()
        print(f"{name}: loss {out.loss.item():.6f}, |adapted - merged| {d:.2e}, "
              f"|adapted - disabled| {(golden['logits'] - golden['logits_disabled']).abs().max().item():.3f}")


def check_ours(ours_dir):
    ours_dir = pathlib.Path(ours_dir)
    header = fixture_header(__file__, args="--check-ours DIR", packages=PACKAGES, also_install="peft==0.21.2")
    results = {}
    for name in CONFIGS:
        ids, mask, pos, _ = batch(name)
        model = PeftModel.from_pretrained(load_base(name), str(ours_dir / name)).eval()
        with torch.no_grad():
            theirs = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
        ours = safetensors.torch.load_file(str(ours_dir / name / "ours.safetensors"))["logits"]
        real = mask.bool()  # logits at left-padding positions are implementation-defined
        diff = (theirs - ours).abs()[real].max().item()
        lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
        b_norm = max(p.abs().max().item() for p in lora_b)
        with torch.no_grad(), model.disable_adapter():
            base = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
        results[name] = {"max_abs_logits_diff": diff, "adapter_effect_max_abs": (theirs - base).abs()[real].max().item(),
                         "max_abs_lora_B": b_norm, "modules": len(lora_b), "ok": diff <= 1e-4}
        print(f"{name}: PEFT loads ours, max |logits diff| {diff:.2e} (adapter moves logits by up to "
              f"{results[name]['adapter_effect_max_abs']:.3f}), {'OK' if diff <= 1e-4 else 'FAIL'}")
    (OUT / "peft_loads_ours.json").write_text(json.dumps({"header": header, "limit": 1e-4, "results": results}, indent=1) + "\n")
    if not all(r["ok"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check-ours":
        check_ours(sys.argv[2])
    elif len(sys.argv) == 1:
        make_goldens()
    else:
        sys.exit("usage: python Reference/reference_lora.py [--check-ours DIR]")
