"""The provenance header every Reference/ script writes into its fixtures: which script made
the file, the tool versions it ran with, and the command that remakes it. One module so every
fixture carries the same fields.

JSON fixtures store it under a top-level "header" key; .safetensors goldens store it as the
file's `__metadata__` (a string -> string map), via `save_safetensors` below.

Environment the committed fixtures were made with (see the versions in their headers):
a Python 3.11 venv with torch==2.13.0+cpu installed first (from the PyTorch CPU wheel index),
then transformers==5.24.0, tokenizers==0.23.3 and safetensors==0.8.0; scripts that need more
say so in their docstring (make_gguf_fixtures.py: gguf==0.19.0; make_tokenizer_fixtures.py:
jinja2, which transformers already pulls in). Run every script from the repository root.

Leaves out: writing the files (each script does) and any check of the versions.
"""
import json
import os
import platform
import struct
from importlib import metadata

BASE_ENVIRONMENT = ("Python 3.11 venv: pip install torch==2.13.0+cpu (PyTorch CPU wheel index) first, then "
                    "transformers==5.24.0 tokenizers==0.23.3 safetensors==0.8.0")
ENVIRONMENT = BASE_ENVIRONMENT + "; run from the repository root"
PACKAGES = ("torch", "transformers", "tokenizers", "safetensors")


def header(script, args="", extra=None, packages=PACKAGES, also_install=""):
    """The header dict for fixtures written by `script` (pass `__file__`). `args` are the
    command-line arguments the regenerate command needs; `extra` adds script-specific fields
    (seed, more package versions); `also_install` names packages the script needs beyond the
    base environment. Versions come from the installed distributions, for those installed;
    nothing is imported."""
    name = os.path.basename(script)
    h = {"generator": f"Reference/{name}",
         "regenerate": f"python Reference/{name}" + (f" {args}" if args else ""),
         "environment": (BASE_ENVIRONMENT + (f", then {also_install}" if also_install else "")
                         + "; run from the repository root"),
         "python": platform.python_version()}
    for p in packages:
        try:
            h[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            pass
    h.update(extra or {})
    return h


def save_safetensors(tensors, path, hdr, metadata_base=None):
    """safetensors.torch.save_file with `hdr` (values as strings, plus `metadata_base`) as the
    `__metadata__`. safetensors serialises a metadata map in hash order, so the header JSON is
    rewritten with sorted metadata keys afterwards: the same inputs give the same bytes."""
    from safetensors.torch import save_file
    meta = dict(metadata_base or {})
    meta.update({k: str(v) for k, v in hdr.items()})
    save_file(tensors, str(path), metadata=meta)
    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
        text = raw.decode("utf-8").rstrip(" ")
        parsed = json.loads(text)
        parsed["__metadata__"] = dict(sorted(parsed["__metadata__"].items()))
        new = json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(new) != len(text.encode("utf-8")) or json.loads(new) != json.loads(text):
            raise RuntimeError(f"{path}: could not reorder the safetensors metadata in place")
        f.seek(8)
        f.write(new)
