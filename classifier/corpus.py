"""Reading labelled data (data/complaints.csv and any extra labelled files) for training and evaluation."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import TrainingError
from classifier.labels import LABEL_CODES

# The corpus's metadata vocabularies (data/WRITING-GUIDE.md): the voices texts are written in and the
# 20 domains they cover.
VOICES = frozenset({"citizen", "hotline", "bulletin", "inspection", "assessment", "media"})
DOMAINS = frozenset(
    [
        "环保",
        "征地拆迁",
        "乡村振兴",
        "营商环境",
        "行政审批",
        "社保医保",
        "教育",
        "医疗卫生",
        "住建物业",
        "交通",
        "城管",
        "农业农村",
        "户籍治安",
        "市场监管",
        "信访",
        "应急防汛",
        "民政救助",
        "劳动仲裁",
        "自然资源",
        "数字政务",
    ]
)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    domain: str = ""
    voice: str = ""


def load_examples(paths: list[Path], require_every_label: bool = True) -> list[Example]:
    """Rows with a non-empty `text` and a known `label`; other columns optional. Bad files raise."""
    examples: list[Example] = []
    for path in paths:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                fields = set(reader.fieldnames or [])
                if not {"text", "label"} <= fields:
                    raise TrainingError(
                        f"训练文件缺少 text 或 label 列：{path}（现有列：{', '.join(sorted(fields))}）",
                        f"training file {path} needs columns text and label (has: {', '.join(sorted(fields))})",
                    )
                for line, row in enumerate(reader, start=2):
                    text, label = (row.get("text") or "").strip(), (row.get("label") or "").strip()
                    if not text:
                        continue
                    if label not in LABEL_CODES:
                        raise TrainingError(
                            f"{path} 第 {line} 行的标签 {label!r} 不在标签集 {list(LABEL_CODES)} 中",
                            f"{path} line {line}: label {label!r} is not one of {list(LABEL_CODES)}",
                        )
                    examples.append(Example(text, label, row.get("domain") or "", row.get("voice") or ""))
        except FileNotFoundError:
            raise TrainingError(f"找不到训练文件：{path}", f"training file not found: {path}") from None
        except IsADirectoryError:
            raise TrainingError(
                f"训练数据应是 CSV 文件而不是文件夹：{path}", f"{path} is a folder, not a CSV file"
            ) from None
        except OSError as exc:
            raise TrainingError(f"无法读取训练文件：{path}", f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise TrainingError(f"训练文件必须是 UTF-8：{path}", f"training file must be UTF-8: {path}") from None
    missing = set(LABEL_CODES) - {e.label for e in examples}
    if not examples:
        raise TrainingError(f"文件中没有带标签的文本：{paths}", f"no labelled texts in {[str(p) for p in paths]}")
    if missing and require_every_label:
        raise TrainingError(
            f"训练数据缺少标签 {sorted(missing)}，每个标签都需要样本",
            f"training data has no examples of {sorted(missing)}; every label needs some",
        )
    return examples


def data_hash(paths: list[Path]) -> str:
    """sha256 over the training files' bytes, in order: names the data a model was trained on."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def near_duplicates(texts: list[str], threshold: float = 0.5, n: int = 5) -> list[tuple[int, int, float]]:
    """Pairs (i, j, jaccard) whose character n-gram sets overlap at least `threshold`.

    One sparse matrix product gives every pairwise intersection, so thousands of texts take a second.
    """
    import numpy as np
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        compact = "".join(text.split())
        grams = {compact[k : k + n] for k in range(max(1, len(compact) - n + 1))}
        for gram in grams:
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(texts), max(1, len(vocabulary)))
    )
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    overlap = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    jaccard = overlap.data / np.maximum(union, 1)
    keep = jaccard >= threshold
    return [
        (int(i), int(j), float(s)) for i, j, s in zip(overlap.row[keep], overlap.col[keep], jaccard[keep], strict=True)
    ]
