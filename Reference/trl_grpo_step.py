"""Times TRL's GRPOTrainer on the CPU, the baseline `rlhf-bench grpo --compare-trl PYTHON` runs
beside our engine in the same sitting. The shape (docs/algorithms.md §7 for the algorithm):
a GPT-2-124M-shaped model with random weights (no download), 2 prompts x 4 generations,
64 new tokens sampled at temperature 1, beta 0.04 with a frozen reference (the same weights,
as TRL makes it from the model's path), one optimizer step per generation batch
(num_iterations 1, per-device batch 8, no accumulation), a rule reward on the decoded text.

The tokenizer is synthetic and written here, the same one `rlhf-bench grpo` builds: GPT-2's
256 byte-level symbols, then one made-up word per remaining id up to 50,256 and
<|endoftext|> at 50256, no merges — so prompts encode to one id per byte on both sides, and
every sampled id decodes.

Run from the repository root, in the environment fixture_header.py describes plus trl:
    pip install trl==1.16.0
    python Reference/trl_grpo_step.py --threads 2 --steps 3
Prints one JSON line: seconds per step (median over the timed steps, after one warm-up step),
every step's time, the shape and the versions. TRL's own defaults apply where the shape says
nothing (gradient checkpointing on, as GRPOConfig sets it; --no-gradient-checkpointing turns it off). Writes only to a temporary directory.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

VOCAB = 50257
PROMPTS = ["The film opened with a", "My favourite part was"]


def byte_level_alphabet():
    """GPT-2's byte -> printable-character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def synthetic_word(i):
    """A space-led lowercase word for id i (base 26), distinct for every i."""
    s = ""
    while True:
        s = chr(ord("a") + i % 26) + s
        i //= 26
        if i == 0:
            break
    return "Ġ" + s


def write_tokenizer(directory):
    alphabet = byte_level_alphabet()
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    for i in range(256, VOCAB - 1):
        vocab[synthetic_word(i)] = i
    vocab["<|endoftext|>"] = VOCAB - 1
    assert len(vocab) == VOCAB
    with open(os.path.join(directory, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(directory, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")


def make_tokenizer(directory):
    """The synthetic tokenizer as a transformers fast tokenizer (byte-level BPE, no merges)."""
    import tokenizers
    from transformers import PreTrainedTokenizerFast
    bpe = tokenizers.models.BPE.from_file(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt"))
    tok = tokenizers.Tokenizer(bpe)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed optimizer steps (after one warm-up step)")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--beta", type=float, default=0.04)
    ap.add_argument("--model", choices=["gpt2", "small"], default="gpt2")
    ap.add_argument("--no-gradient-checkpointing", action="store_true",
                    help="turn off TRL's default (GRPOConfig sets gradient_checkpointing=True: one more forward per step)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    import datasets
    import transformers
    import trl
    from transformers import GPT2Config, GPT2LMHeadModel, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()

    tmp = tempfile.mkdtemp(prefix="trl-grpo-")
    write_tokenizer(tmp)
    tokenizer = make_tokenizer(tmp)
    torch.manual_seed(0)
    if args.model == "gpt2":
        config = GPT2Config(vocab_size=VOCAB)
    else:
        config = GPT2Config(vocab_size=VOCAB, n_embd=128, n_layer=2, n_head=4)
    model_dir = os.path.join(tmp, "model")
    GPT2LMHeadModel(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)

    steps = 1 + args.steps
    prompts_per_step = 2
    data = datasets.Dataset.from_dict({"prompt": PROMPTS * steps})

    def letters(completions, **kwargs):
        """The rule reward: occurrences of 'a' and 'b' (cheap; what it rewards is beside the point)."""
        return [float(c.count("a") + c.count("b")) for c in completions]

    cfg = GRPOConfig(
        output_dir=os.path.join(tmp, "out"), use_cpu=True, bf16=False, fp16=False, report_to="none",
        per_device_train_batch_size=prompts_per_step * args.generations, gradient_accumulation_steps=1,
        num_generations=args.generations, num_iterations=1, max_completion_length=args.new_tokens,
        temperature=1.0, top_p=1.0, top_k=0, beta=args.beta, learning_rate=1e-6, max_steps=steps,
        logging_steps=1, save_strategy="no", shuffle_dataset=False, seed=0, dataloader_num_workers=0,
        disable_tqdm=True, log_completions=False, gradient_checkpointing=not args.no_gradient_checkpointing)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=letters, args=cfg, train_dataset=data, processing_class=tokenizer)

    times = []

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            times.append(time.perf_counter() - self.t)

    trainer.add_callback(Timer())
    trainer.train()
    timed = times[1:]
    print(json.dumps({
        "step_seconds": statistics.median(timed), "steps": times, "threads": torch.get_num_threads(),
        "gradient_checkpointing": not args.no_gradient_checkpointing,
        "shape": {"model": args.model, "prompts": prompts_per_step, "generations": args.generations,
                  "new_tokens": args.new_tokens, "beta": args.beta},
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                     "trl": trl.__version__}}))


if __name__ == "__main__":
    main()
