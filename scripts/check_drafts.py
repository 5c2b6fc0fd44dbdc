"""Check hand-written corpus drafts (data/drafts/*.jsonl) before they are merged.

Usage: python3 scripts/check_drafts.py [PREFIX]
Checks every draft file (or only those whose name starts with PREFIX): JSON per line, the schema,
the label / domain / voice vocabularies, lengths, and near-duplicates (character 5-gram Jaccard >= 0.5)
against ALL drafts, so parallel writers do not repeat each other.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier.corpus import DOMAINS, VOICES  # noqa: E402
from classifier.labels import LABEL_CODES  # noqa: E402

LABELS = set(LABEL_CODES)
DRAFTS = Path(__file__).resolve().parent.parent / "data" / "drafts"


def shingles(text: str, n: int = 5) -> set[str]:
    t = "".join(text.split())
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def main() -> int:
    prefix = sys.argv[1] if len(sys.argv) > 1 else ""
    rows = []
    problems = []
    for path in sorted(DRAFTS.glob("*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not JSON ({exc})")
                continue
            if set(row) != {"text", "label", "domain", "voice"}:
                problems.append(f"{where}: keys must be text,label,domain,voice; got {sorted(row)}")
                continue
            if row["label"] not in LABELS:
                problems.append(f"{where}: bad label {row['label']!r}")
            if row["voice"] not in VOICES:
                problems.append(f"{where}: bad voice {row['voice']!r}")
            if row["domain"] not in DOMAINS:
                problems.append(f"{where}: bad domain {row['domain']!r}")
            if not 15 <= len(row["text"]) <= 1500:
                problems.append(f"{where}: length {len(row['text'])} outside 15..1500")
            rows.append((where, row))
    mine = [(w, r) for w, r in rows if w.startswith(prefix)]
    grams = [(w, shingles(r["text"])) for w, r in rows]
    for w, r in mine:
        a = shingles(r["text"])
        for w2, b in grams:
            if w2 == w or (w2.startswith(prefix) and w2 < w):
                continue
            j = len(a & b) / max(1, len(a | b))
            if j >= 0.4:
                problems.append(f"{w}: near-duplicate of {w2} (5-gram Jaccard {j:.2f}; limit 0.5, keep under 0.4)")
    for p in problems:
        print(p)
    lens = sorted(len(r["text"]) for _, r in mine)
    if lens:
        print(f"\n{len(mine)} rows checked; labels {dict(Counter(r['label'] for _, r in mine))}")
        print(f"voices {dict(Counter(r['voice'] for _, r in mine))}")
        print(f"domains {dict(Counter(r['domain'] for _, r in mine))}")
        print(f"length median {lens[len(lens) // 2]}, share over 250: {sum(n > 250 for n in lens) / len(lens):.0%}")
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
