"""Print the count and length tables of data/README.md from data/complaints.csv (Markdown)."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["unwilling", "afraid", "unable", "other"]


def table(rows: list[dict[str, str]], key: str) -> str:
    counts = Counter((r[key], r["label"]) for r in rows)
    groups = sorted({r[key] for r in rows}, key=lambda g: -sum(counts[(g, lab)] for lab in LABELS))
    out = [f"| {key} | " + " | ".join(LABELS) + " | total |", "|---" * (len(LABELS) + 2) + "|"]
    for g in groups:
        cells = [counts[(g, lab)] for lab in LABELS]
        out.append(f"| {g} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")
    totals = [sum(counts[(g, lab)] for g in groups) for lab in LABELS]
    out.append("| **total** | " + " | ".join(map(str, totals)) + f" | {sum(totals)} |")
    return "\n".join(out)


def main() -> None:
    with (ROOT / "data" / "complaints.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(table(rows, "voice"), "\n")
    print(table(rows, "domain"), "\n")
    print("| voice | n | min | median | p90 | max |\n|---|---|---|---|---|---|")
    for voice in sorted({r["voice"] for r in rows}) + ["(all)"]:
        lengths = sorted(len(r["text"]) for r in rows if voice in ("(all)", r["voice"]))
        p90 = lengths[int(0.9 * (len(lengths) - 1))]
        print(f"| {voice} | {len(lengths)} | {lengths[0]} | {statistics.median(lengths):.0f} | {p90} | {lengths[-1]} |")
    over = sum(len(r["text"]) > 250 for r in rows) / len(rows)
    print(f"\nShare over 250 characters: {over:.0%}.")


if __name__ == "__main__":
    main()
