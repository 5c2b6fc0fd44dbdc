#!/usr/bin/env python3
"""Build the external test set of real citizen messages (hand-labelled) outside the repository.

The repository stores only ids and labels (data/real_eval_labels.csv). This script joins them with the
message texts in ../shared/corpus/citizen_messages.csv at evaluation time and writes a UTF-8 CSV with
columns text,label,voice,domain:

  text   = title + "\\n" + text (just the body when the message has no title)
  label  = the hand label (unwilling / afraid / unable / other)
  voice  = "citizen"
  domain = the message's original topic (一级分类) or empty

Rows marked "unsure" are skipped unless --include-unsure is given. The output must lie outside the
repository (default /tmp/buwei_real_eval.csv): the texts are never to be copied into it.

Usage: python scripts/build_real_eval.py [OUTPUT] [--include-unsure]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "data" / "real_eval_labels.csv"
CORPUS = ROOT.parent / "shared" / "corpus"
MESSAGES = CORPUS / "citizen_messages.csv"
DEFAULT_OUTPUT = Path("/tmp/buwei_real_eval.csv")
VALID_LABELS = {"unwilling", "afraid", "unable", "other"}
VALID_CERTAINTY = {"sure", "unsure"}


def fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Join hand labels with ../shared citizen messages.")
    parser.add_argument(
        "output",
        nargs="?",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"output CSV outside the repository (default {DEFAULT_OUTPUT})",
    )
    parser.add_argument("--include-unsure", action="store_true", help="also write rows labelled 'unsure'")
    args = parser.parse_args(argv)

    if not MESSAGES.is_file():
        return fail(f"{MESSAGES} not found: the real messages live in ../shared, which is missing here")
    output = args.output.expanduser().resolve()
    if output == ROOT or ROOT in output.parents:
        return fail(f"refusing to write {output}: real messages must not be written inside the repository")

    with LABELS.open(encoding="utf-8", newline="") as handle:
        labels = list(csv.DictReader(handle))
    for row in labels:
        if row["label"] not in VALID_LABELS or row["certainty"] not in VALID_CERTAINTY:
            return fail(f"bad label row for {row['id']}: {row['label']!r}, {row['certainty']!r}")

    with MESSAGES.open(encoding="utf-8", newline="") as handle:
        messages = {row["id"]: row for row in csv.DictReader(handle)}
    missing = [row["id"] for row in labels if row["id"] not in messages]
    if missing:
        return fail(f"{len(missing)} labelled ids not in {MESSAGES.name}, e.g. {missing[:3]}")

    kept = [row for row in labels if args.include_unsure or row["certainty"] == "sure"]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "voice", "domain"])
        for row in kept:
            message = messages[row["id"]]
            text = "\n".join(part for part in (message["title"].strip(), message["text"].strip()) if part)
            writer.writerow([text, row["label"], "citizen", message["topic"]])

    mix = Counter(row["label"] for row in kept)
    skipped = len(labels) - len(kept)
    print(f"wrote {len(kept)} rows to {output} ({dict(sorted(mix.items()))}; {skipped} unsure rows skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
