"""What PEFT 0.21.2 writes for a LoRA reward model (task_type SEQ_CLS), and its scores: the
golden that LoRA reward-model folders of this package are checked against.

Writes Tests/RLHFTests/Fixtures/lora-seqcls/:
  adapter_config.json + adapter_model.safetensors  PEFT's save_pretrained of a LoRA
      LlamaForSequenceClassification on Tests/RLHFTests/Fixtures/tiny-llama-rm (B and the score
      head drawn at random so both matter; base_model_name_or_path set to "../tiny-llama-rm",
      the base relative to the adapter folder),
  golden.json  header, the saved tensor names and shapes (what PEFT calls the score head:
      base_model.model.score.weight; modules_to_save in adapter_config.json), the input rows
      and the score PEFT computes for each (one row at a time, no padding).

Regenerate (by hand, never in CI), from the repository root:
    python Reference/reference_lora_seqcls.py
in the base venv of Reference/fixture_header.py plus peft==0.21.2.
Leaves out GPT-2 (its Conv1D layout is covered by reference_lora.py's causal-LM goldens).
"""
import json
import pathlib

import safetensors.torch
import torch
from fixture_header import header as fixture_header
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "Tests/RLHFTests/Fixtures"
OUT = FIXTURES / "lora-seqcls"
PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "peft")
CONFIG = dict(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj", "down_proj"], use_rslora=False)
ROWS = [[1, 5, 9, 3, 7, 2], [8, 8, 40, 11], [3, 120, 7, 64, 5]]


def main():
    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_pretrained(str(FIXTURES / "tiny-llama-rm"), num_labels=1,
                                                              torch_dtype=torch.float32, attn_implementation="eager")
    model = get_peft_model(base, LoraConfig(lora_dropout=0.0, bias="none", task_type="SEQ_CLS", **CONFIG))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n or "modules_to_save" in n:
                p.normal_(0, 0.2)  # B starts at zero and the head copies the base's: random values make both count
    model.eval()
    with torch.no_grad():
        scores = [float(model(input_ids=torch.tensor([r])).logits[0, 0]) for r in ROWS]
    model.peft_config["default"].base_model_name_or_path = "../tiny-llama-rm"
    model.save_pretrained(str(OUT))
    (OUT / "README.md").unlink(missing_ok=True)  # PEFT's model-card template: nothing the tests read
    saved = safetensors.torch.load_file(str(OUT / "adapter_model.safetensors"))
    config = json.loads((OUT / "adapter_config.json").read_text())
    golden = {"header": fixture_header(__file__, packages=PACKAGES, extra={"seed": 0}, also_install="peft==0.21.2"),
              "lora_config": CONFIG, "task_type": config["task_type"], "modules_to_save": config["modules_to_save"],
              "tensors": {k: list(v.shape) for k, v in sorted(saved.items())}, "rows": ROWS, "scores": scores}
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}: {len(saved)} tensors, scores {scores}")


if __name__ == "__main__":
    main()
