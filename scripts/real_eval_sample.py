#!/usr/bin/env python3
"""Print the ids of the real-message external test set, one per line.

Deterministic: random.Random(2026) draws 200 ids from the rows of
../shared/corpus/inaction_keyword_hits.csv with strong == "True" (in file order),
then 100 ids from the remaining messages of ../shared/corpus/citizen_messages.csv
(ids not in the strong set, in file order). The 200 are printed first, then the 100.
The messages themselves are never copied into the repository.
"""

import argparse
import csv
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
SEED = 2026
N_STRONG = 200
N_REST = 100


def sample_ids(corpus: Path) -> list[str]:
    hits = corpus / "inaction_keyword_hits.csv"
    messages = corpus / "citizen_messages.csv"
    with hits.open(encoding="utf-8", newline="") as f:
        strong = [r["id"] for r in csv.DictReader(f) if r["strong"] == "True"]
    strong_set = set(strong)
    with messages.open(encoding="utf-8", newline="") as f:
        rest = [r["id"] for r in csv.DictReader(f) if r["id"] not in strong_set]
    rng = random.Random(SEED)
    return rng.sample(strong, N_STRONG) + rng.sample(rest, N_REST)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="directory with citizen_messages.csv and inaction_keyword_hits.csv",
    )
    args = ap.parse_args()
    if not (args.corpus / "citizen_messages.csv").is_file():
        print(f"error: corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    for i in sample_ids(args.corpus):
        print(i)
    return 0


if __name__ == "__main__":
    sys.exit(main())
