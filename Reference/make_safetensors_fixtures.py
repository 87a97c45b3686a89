#!/usr/bin/env python3
"""Writes the golden fixtures for Tests/SafeTensorsTests/Fixtures with the reference
`safetensors` library, so the Swift reader is checked against files Python wrote and the
Swift writer against Python's exact bytes. Run by hand, never by CI, from the repository root:

    python Reference/make_safetensors_fixtures.py

in a venv with torch==2.13.0+cpu installed first, then safetensors==0.8.0 (see
Reference/fixture_header.py). The generator, tool versions and this command go into
expected.json's "header"; the .safetensors files keep only the metadata written below, because
they are format inputs the Swift writer must reproduce byte for byte.

Leaves out: corrupt files (the Swift tests build those from the good ones) and model
checkpoints (Reference/make_model_fixtures.py makes those).
"""
import json
import os
import struct
import sys

import torch
from fixture_header import header
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SafeTensorsTests", "Fixtures")
SEED = 0
# transformers' save_pretrained writes exactly this metadata; with one key the header is
# deterministic (safetensors serialises a multi-key metadata map in hash order).
METADATA = {"format": "pt"}


def source_tensors():
    """F32 values chosen to exercise rounding: F16 overflow/subnormals, BF16 ties to even,
    signed zero, infinities, a scalar, an empty tensor, and a seeded block for the bulk
    conversion loops. Names mix case so the byte-order sort is visible ("Zed" < "b").
    No NaN here: torch writes NaN as 0x7FFF (F16) / 0xFFFF (BF16) and our writer emits the
    canonical quiet NaN, so NaN reading is checked in mixed.safetensors instead."""
    g = torch.Generator().manual_seed(SEED)
    return {
        "w": torch.tensor([[1.0, -2.5, 131008.0], [1e-6, -0.0, 3.14159265]], dtype=torch.float32),
        "b": torch.tensor([float("inf"), float("-inf"), 1.00390625, 1.01171875, -65520.0], dtype=torch.float32),
        "Zed": torch.tensor(0.5, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
        "model.layers.0.big": torch.randn((8, 16), generator=g, dtype=torch.float32),
    }


def bits_of(t):
    """Float values as float32 bit patterns, so NaN, -0 and subnormals compare exactly."""
    f = t.detach().to(torch.float32).contiguous().reshape(-1)
    return [int(x) for x in f.view(torch.int32).tolist()] if f.numel() else []


def describe(tensors):
    out = {}
    for name, t in tensors.items():
        entry = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
        if t.dtype.is_floating_point:
            entry["f32_bits"] = [b & 0xFFFFFFFF for b in bits_of(t)]
        else:
            entry["ints"] = [int(x) for x in t.reshape(-1).tolist()]
        out[name] = entry
    return out


def header_json(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return f.read(n).decode()


def main():
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
    expected = {
        "header": header(__file__, extra={"seed": SEED}),
        "files": {},
    }

    src = source_tensors()
    # 1. The same tensors in each float dtype the reader converts and the writer emits.
    for fname, dtype in [("f32.safetensors", torch.float32), ("f16.safetensors", torch.float16),
                         ("bf16.safetensors", torch.bfloat16)]:
        ts = {k: v.to(dtype) for k, v in src.items()}
        save_file(ts, os.path.join(OUT, fname), metadata=METADATA)
        expected["files"][fname] = {"metadata": METADATA, "tensors": describe(ts)}

    # 2. Every dtype we list, in one file, to check the layout order (descending alignment,
    #    then name) and the explicit integer accessor.
    mixed = {
        "f64": torch.tensor([1.0 / 3.0, -1e300, float("nan")], dtype=torch.float64),
        "i64": torch.tensor([-(2**62), 7], dtype=torch.int64),
        "i32": torch.tensor([[-5, 6]], dtype=torch.int32),
        "f32": torch.tensor([2.0, float("nan")], dtype=torch.float32),
        "bf16": torch.tensor([-1.5, float("nan")], dtype=torch.bfloat16),
        "f16": torch.tensor([0.25, float("nan")], dtype=torch.float16),
    }
    save_file(mixed, os.path.join(OUT, "mixed.safetensors"), metadata={"note": "every dtype"})
    expected["files"]["mixed.safetensors"] = {"metadata": {"note": "every dtype"}, "tensors": describe(mixed)}

    # 3. A sharded checkpoint as transformers lays it out: two shards plus the index.
    shards = {
        "model-00001-of-00002.safetensors": {"embed.weight": src["model.layers.0.big"][:4].clone(),
                                             "layers.0.bias": src["w"][0].clone()},
        "model-00002-of-00002.safetensors": {"lm_head.weight": src["model.layers.0.big"][4:].to(torch.bfloat16)},
    }
    weight_map, total = {}, 0
    for shard, ts in shards.items():
        save_file(ts, os.path.join(OUT, "sharded", shard), metadata=METADATA)
        expected["files"]["sharded/" + shard] = {"metadata": METADATA, "tensors": describe(ts)}
        for name, t in ts.items():
            weight_map[name] = shard
            total += t.numel() * t.element_size()
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")

    # The headers as Python wrote them, for a readable diff when the byte comparison fails.
    expected["headers"] = {name: header_json(os.path.join(OUT, name))
                           for name in ["f32.safetensors", "f16.safetensors", "bf16.safetensors"]}

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    total_bytes = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"wrote fixtures to {os.path.normpath(OUT)} ({total_bytes} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
