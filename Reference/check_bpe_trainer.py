#!/usr/bin/env python3
"""Cross-check our Swift BPE trainer against Hugging Face: load the tokenizer.json that
`BPETrainer` wrote into Tests/TokenizersTests/Fixtures/swift-trained/ with `tokenizers` (and
with transformers' AutoTokenizer), and record the ids and decoded text HF produces for a
small corpus in that folder's expected.json. Leaves out training (Swift does that).

Regenerate the fixture, in order, from the repository root, in a venv with torch==2.13.0+cpu
installed first, then transformers==5.24.0 and tokenizers==0.23.3 (see Reference/fixture_header.py):
  1. python Reference/check_bpe_trainer.py --write-train-text
       writes train.txt: the first 80 snippets of Data/vader-movie-snippets/snippets.jsonl
       (one per line) plus the EXTRA_TRAIN lines below
  2. BPE_TRAINER_WRITE_FIXTURE=1 swift test -c release --filter BPETrainerTests
       the Swift test trains vocab 400 on train.txt and writes tokenizer.json and
       tokenizer_config.json (without the variable it checks the committed bytes instead)
  3. python Reference/check_bpe_trainer.py
       writes expected.json (generator, tool versions and these commands in its "header")
Never edit the outputs by hand; change this script or the Swift test and rerun.
"""
import argparse, json, os
import transformers
from fixture_header import header as fixture_header
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures", "swift-trained")
SNIPPETS = os.path.join(ROOT, "Data", "vader-movie-snippets", "snippets.jsonl")

EXTRA_TRAIN = [
    "Café naïve résumé — «quotes» and ‘curly’ ones; 9 ½ Weeks costs $12.50.",
    "Привет, как дела? 你好，世界！ Emoji: 😀👍🏽 ❤️",
    "def f(x):\n    return x * 2  # code\n\ttabs\r\nand CRLF",
    "<|endoftext|>A special token inside the training text<|endoftext|>",
]

TEXTS = [
    "", " ", "\n", "a",
    "The Rock is destined to be the 21st Century's new ''Conan''.",
    "A gorgeously elaborate, moving and funny film.",
    "Effective but too tepid biopic",
    "It's a cheap cliché, and the plot is nothing but boilerplate.",
    "I'M SURE you'll see it's what they've done; 'twas 'Hello'.",
    "Numbers: 1234567890, 3.14159, 2024-06-30, ½ and ².",
    "Café naïve résumé façade — «guillemets» and ‘quotes’.",
    "Привет, как дела? Всё хорошо!",
    "你好，世界！今天天气很好。",
    "Emoji: 😀😃 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨🚀",
    "Tabs\tand\t\ttabs, Lines\n\nwith\r\nCRLF\r\n and   trailing   \n",
    "   leading and trailing spaces   ",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "first<|endoftext|>second<|endoftext|>",
    "<|endoftext|>",
    "unseen words: xylophone quagmire zephyr",
]


def write_train_text():
    lines = []
    with open(SNIPPETS, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n == 80:
                break
            lines.append(json.loads(line)["text"])
    # One text per line: texts containing newlines are JSON-escaped on their line.
    out = [json.dumps(t, ensure_ascii=False) for t in lines + EXTRA_TRAIN]
    os.makedirs(DIR, exist_ok=True)
    with open(os.path.join(DIR, "train.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {DIR}/train.txt ({len(out)} texts)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-train-text", action="store_true")
    args = ap.parse_args()
    if args.write_train_text:
        write_train_text()
        return
    tok = Tokenizer.from_file(os.path.join(DIR, "tokenizer.json"))
    auto = transformers.AutoTokenizer.from_pretrained(DIR)
    eot = "<|endoftext|>"
    assert auto.eos_token == eot and auto.bos_token == eot and auto.pad_token == eot, (auto.bos_token, auto.eos_token, auto.pad_token)
    assert auto.eos_token_id == tok.token_to_id(eot), (auto.eos_token_id, tok.token_to_id(eot))
    cases = []
    for t in TEXTS:
        enc = tok.encode(t)
        ids = enc.ids
        via_auto = auto(t)["input_ids"]
        assert via_auto == ids, f"transformers and tokenizers disagree on {t!r}: {via_auto} vs {ids}"
        cases.append({
            "text": t,
            "ids": ids,
            "tokens": enc.tokens,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
        })
    header = fixture_header(__file__, extra={
        "regenerate": "python Reference/check_bpe_trainer.py --write-train-text && "
                      "BPE_TRAINER_WRITE_FIXTURE=1 swift test -c release --filter BPETrainerTests && "
                      "python Reference/check_bpe_trainer.py",
        "source": "tokenizer.json and tokenizer_config.json in this folder, written by the Swift BPETrainer (see the script's docstring)",
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "eos_token_id": auto.eos_token_id,
    })
    with open(os.path.join(DIR, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"header": header, "name": "swift-trained", "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {DIR}/expected.json ({len(cases)} cases, vocab {header['vocab_size']})")


if __name__ == "__main__":
    main()
