"""Golden fixtures for the Models target: tiny random checkpoints saved by transformers,
with logits, loss, every parameter gradient and sequence-classification scores for one
left-padded batch.

Regenerate (by hand, never in CI), from the repository root:
    python Reference/make_model_fixtures.py
in a venv with torch==2.13.0+cpu installed first, then transformers==5.24.0 and safetensors==0.8.0
(see Reference/fixture_header.py). Writes Tests/ModelsTests/Fixtures/<name>/{config.json,
model.safetensors, golden.safetensors, golden.json} and Tests/ModelsTests/Fixtures/<name>-cls/ for
the *ForSequenceClassification twin. The goldens carry the generator, tool versions and this
command: golden.json in its "header", golden.safetensors in its __metadata__.
"""
import json
import pathlib

import safetensors.torch
import torch
from fixture_header import header as fixture_header, save_safetensors
from transformers import (GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, LlamaConfig,
                          LlamaForCausalLM, LlamaForSequenceClassification, Qwen2Config, Qwen2ForCausalLM,
                          Qwen2ForSequenceClassification)

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelsTests/Fixtures"
VOCAB = 97
PAD = 96  # never used as a real token below, so "last non-pad token" is unambiguous

# Row 0: 7 real tokens. Row 1: 3 left-padding tokens then 4 real ones.
IDS = torch.tensor([[5, 17, 42, 8, 90, 3, 61], [PAD, PAD, PAD, 11, 23, 75, 2]])
MASK = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]])
POS = (MASK.cumsum(-1) - 1).clamp(min=0)
# A label is only a target when the position before it is a real token: the logits of a
# left-padding position are implementation-defined (fully masked attention row).
PREV_REAL = torch.cat([torch.zeros_like(MASK[:, :1]), MASK[:, :-1]], dim=1)
LABELS = IDS.masked_fill((MASK == 0) | (PREV_REAL == 0), -100)

MODELS = {
    "gpt2": (GPT2LMHeadModel, GPT2ForSequenceClassification,
             GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                        resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, pad_token_id=PAD,
                        bos_token_id=1, eos_token_id=2)),
    "llama": (LlamaForCausalLM, LlamaForSequenceClassification,
              LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                          rms_norm_eps=1e-6, tie_word_embeddings=False, pad_token_id=PAD,
                          bos_token_id=1, eos_token_id=2, rope_theta=10000.0,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    "qwen2": (Qwen2ForCausalLM, Qwen2ForSequenceClassification,
              Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64,
                          rms_norm_eps=1e-6, tie_word_embeddings=True, pad_token_id=PAD,
                          bos_token_id=1, eos_token_id=2, rope_theta=1000000.0)),
}


def main():
    header = fixture_header(__file__, extra={"seed": 0})
    for name, (lm_cls, cls_cls, config) in MODELS.items():
        torch.manual_seed(0)
        config._attn_implementation = "eager"
        model = lm_cls(config).eval()
        # Non-trivial norm weights/biases so their gradients are tested too.
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "norm" in n or "ln_" in n:
                    p.add_(0.1 * torch.randn_like(p))
        out_dir = ROOT / name
        model.save_pretrained(out_dir, safe_serialization=True)
        out = model(input_ids=IDS, attention_mask=MASK, position_ids=POS, labels=LABELS)
        out.loss.backward()
        golden = {"logits": out.logits.detach().contiguous(),
                  "input_ids": IDS.to(torch.int64), "attention_mask": MASK.to(torch.int64),
                  "position_ids": POS.to(torch.int64), "labels": LABELS.to(torch.int64)}
        for n, p in model.named_parameters():
            golden["grad." + n] = p.grad.detach().contiguous()
        save_safetensors(golden, out_dir / "golden.safetensors", header)
        keys = sorted(safetensors.torch.load_file(str(out_dir / "model.safetensors")).keys())
        (out_dir / "golden.json").write_text(json.dumps(
            {"header": header, "loss": out.loss.item(), "saved_keys": keys}, indent=1))

        # The sequence-classification twin shares the trunk; score head is random.
        torch.manual_seed(1)
        config.num_labels = 1
        cls = cls_cls(config).eval()
        missing = cls.load_state_dict(model.state_dict(), strict=False)
        cls_dir = ROOT / (name + "-cls")
        cls.save_pretrained(cls_dir, safe_serialization=True)
        with torch.no_grad():
            res = cls(input_ids=IDS, attention_mask=MASK, position_ids=POS)
            trunk = cls.base_model if hasattr(cls, "base_model") else None
            hidden = trunk(input_ids=IDS, attention_mask=MASK, position_ids=POS).last_hidden_state
            per_token = cls.score(hidden)[..., 0]
        save_safetensors({"scores": res.logits[:, 0].contiguous(), "per_token": per_token.contiguous()},
                         cls_dir / "golden.safetensors", header)
        cls_keys = sorted(safetensors.torch.load_file(str(cls_dir / "model.safetensors")).keys())
        (cls_dir / "golden.json").write_text(json.dumps(
            {"header": header, "saved_keys": cls_keys,
             "unmatched_from_lm": sorted(missing.unexpected_keys)}, indent=1))
        print(name, "loss", out.loss.item(), "scores", res.logits[:, 0].tolist())


if __name__ == "__main__":
    main()
