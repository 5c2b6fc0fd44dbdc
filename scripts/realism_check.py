"""Realism check (not a test): label the real citizen messages in ../shared/corpus with the current
model and print a sample of predictions to read by hand. Prints to stdout only: never write these
messages into the repository.

Usage: python scripts/realism_check.py [--n 120] [--keyword-hits] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.predict import Predictor  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=120)
    parser.add_argument("--keyword-hits", action="store_true", help="only messages with a strong inaction keyword")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", help="only show predictions of this label")
    args = parser.parse_args()
    with (CORPUS / "citizen_messages.csv").open(encoding="utf-8", newline="") as handle:
        messages = list(csv.DictReader(handle))
    if args.keyword_hits:
        with (CORPUS / "inaction_keyword_hits.csv").open(encoding="utf-8", newline="") as handle:
            strong = {r["id"] for r in csv.DictReader(handle) if r["strong"] == "True"}
        messages = [m for m in messages if m["id"] in strong]
    predictor = Predictor.load()
    texts = [f"{m['title']}\n{m['text']}".strip() for m in messages]
    results = predictor.predict(texts, evidence_terms=4)
    print("label mix:", dict(Counter(r.label for r in results)), "needs_review:", sum(r.needs_review for r in results))
    order = list(range(len(messages)))
    random.Random(args.seed).shuffle(order)
    shown = 0
    for k in order:
        if args.label and results[k].label != args.label:
            continue
        r = results[k]
        terms = " ".join(e["term"] for e in r.evidence)
        print(f"\n[{messages[k]['id']}] {r.label} {r.confidence:.2f} (2nd {r.second_label}) ev: {terms}")
        print(texts[k][:400].replace("\n", " / "))
        shown += 1
        if shown >= args.n:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
