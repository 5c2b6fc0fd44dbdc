"""Merge the hand-written drafts (data/drafts/*.jsonl) into data/complaints.csv.

Not a generator: it only collects texts people wrote, gives each a stable id (writer, file, line),
and drops a later text that is a near-duplicate (5-gram Jaccard >= 0.5) of an earlier one.
Texts listed in data/drafts/REJECTED.txt (one id per line, reviewed out) are left out.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.corpus import near_duplicates  # noqa: E402

DRAFTS = ROOT / "data" / "drafts"
OUT = ROOT / "data" / "complaints.csv"


def main() -> int:
    rejected = set()
    if (DRAFTS / "REJECTED.txt").exists():
        rejected = {line.split("#")[0].strip() for line in (DRAFTS / "REJECTED.txt").read_text().splitlines()}
    rows = []
    for path in sorted(DRAFTS.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row["id"] = f"{path.stem.replace('_', '')}-{lineno:02d}"
                row["text"] = row["text"].strip()
                if row["id"] not in rejected:
                    rows.append(row)
    dropped = {j for _, j, _ in near_duplicates([r["text"] for r in rows])}
    kept = [r for k, r in enumerate(rows) if k not in dropped]
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "label", "domain", "voice"], lineterminator="\n")
        writer.writeheader()
        for row in kept:
            writer.writerow({k: row[k] for k in ("id", "text", "label", "domain", "voice")})
    print(f"{len(kept)} rows written to {OUT} ({len(dropped)} near-duplicates and {len(rejected)} rejected left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
