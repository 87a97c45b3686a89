"""Times torch.matmul in fp32 and bf16 at the GEMM shapes `rlhf-bench gemm` uses, so the bench
can print our speed as a ratio to PyTorch's measured in the same run on the same machine.
bf16 is timed as PyTorch runs it under autocast: both operands bf16 (converted beforehand,
as autocast caches converted weights), the product bf16 (oneDNN accumulates in fp32).

Called by `rlhf-bench gemm --compare-pytorch PYTHON`, which passes the shapes; by hand:
    python Reference/time_matmul.py --threads 2 --runs 7 --shapes 1024x768x3072:NN,1024x768x3072:NT
Each shape is MxKxN:XY with X, Y in {N, T} (T: that operand is stored transposed, as in
rlhf-bench). Prints one line per shape and dtype: `pytorch <dtype> <shape> <GFLOP/s>`, the
median of --runs timed calls after two warm-ups, then a `pytorch_versions ...` line.
Needs only torch (the environment fixture_header.py describes); writes no files.
"""
import argparse
import statistics
import time

import torch


def parse_shape(text):
    dims, _, trans = text.partition(":")
    m, k, n = (int(v) for v in dims.split("x"))
    trans = trans or "NN"
    if len(trans) != 2 or any(c not in "NT" for c in trans):
        raise SystemExit(f"time_matmul.py: shape {text!r}: expected MxKxN:XY with X, Y in N/T")
    return m, k, n, trans[0] == "T", trans[1] == "T"


def operands(m, k, n, trans_a, trans_b, dtype):
    g = torch.Generator().manual_seed(0)
    # Stored as rlhf-bench stores them; .t() views give PyTorch the same strides to deal with.
    a = torch.rand((k, m) if trans_a else (m, k), generator=g) * 2 - 1
    b = torch.rand((n, k) if trans_b else (k, n), generator=g) * 2 - 1
    a, b = a.to(dtype), b.to(dtype)
    return (a.t() if trans_a else a), (b.t() if trans_b else b)


def gflops(m, k, n, trans_a, trans_b, dtype, runs):
    a, b = operands(m, k, n, trans_a, trans_b, dtype)
    for _ in range(2):
        torch.matmul(a, b)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2.0 * m * n * k / statistics.median(times) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shapes", required=True, help="comma-separated MxKxN:XY")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = [parse_shape(s) for s in args.shapes.split(",") if s]
    for dtype, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
        for text, shape in zip(args.shapes.split(","), shapes):
            print(f"pytorch {name} {text} {gflops(*shape, dtype, args.runs):.2f}", flush=True)
    print(f"pytorch_versions torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"mkldnn_bf16 {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")


if __name__ == "__main__":
    main()
