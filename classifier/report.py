"""The evaluation report saved with every model version: Markdown (中文 / English) and PNG figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classifier.labels import LABEL_CODES, LABEL_ZH

CONFUSION_PNG = "confusion_matrix.png"
RELIABILITY_PNG = "reliability.png"
LEARNING_PNG = "learning_curve.png"


def write_figures(folder: Path, metrics: dict[str, Any], curve: list[dict[str, float]] | None) -> list[str]:
    """Confusion matrix, reliability diagram and (when measured) learning curve, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    matrix = metrics["confusion_matrix"]["rows_true_cols_pred"]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(LABEL_CODES)), LABEL_CODES, rotation=30)
    ax.set_yticks(range(len(LABEL_CODES)), LABEL_CODES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    ax.set_title("Confusion matrix (out of fold)")
    fig.tight_layout()
    fig.savefig(folder / CONFUSION_PNG, dpi=110)
    plt.close(fig)
    written.append(CONFUSION_PNG)

    bins = metrics["calibration"]["bins"]
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", label="model")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE {metrics['calibration']['ece']:.3f})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / RELIABILITY_PNG, dpi=110)
    plt.close(fig)
    written.append(RELIABILITY_PNG)

    if curve:
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        ax.plot([p["train_size"] for p in curve], [p["macro_f1"] for p in curve], marker="o")
        ax.set_xlabel("training texts")
        ax.set_ylabel("macro-F1 (held out)")
        ax.set_title("Learning curve")
        fig.tight_layout()
        fig.savefig(folder / LEARNING_PNG, dpi=110)
        plt.close(fig)
        written.append(LEARNING_PNG)
    return written


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown. `report` holds metrics, breakdowns, thresholds, selection, curve."""
    m = report["metrics"]
    th = report["thresholds"]
    parts = [
        f"# 模型评估报告 / Model evaluation report — {report.get('title', '')}",
        "",
        f"- 评估方式 / method: {report['method']}",
        f"- 样本数 / texts: {m['n']}；数据哈希 / data sha256: `{report.get('data_sha256', '')[:16]}`",
        f"- 模型 / model: {report.get('model_name', '')}",
        "",
        "## 总体 / Overall",
        f"- 宏平均 F1 / macro-F1: **{m['macro_f1']:.3f}**；准确率 / accuracy: {m['accuracy']:.3f}",
        f"- 期望校准误差 / expected calibration error (ECE): {m['calibration']['ece']:.3f}"
        + (f"（温度缩放 / temperature scaling T = {report['temperature']:.2f}）" if report.get("temperature") else ""),
    ]
    if report.get("macro_f1_per_repeat"):
        scores = report["macro_f1_per_repeat"]
        parts.append(f"- 各次重复的宏F1 / macro-F1 per repeat: {', '.join(f'{s:.3f}' for s in scores)}")
    parts += [
        "",
        "## 各标签 / Per label",
        _table(
            ["label", "中文", "precision", "recall", "F1", "support"],
            [
                [c, LABEL_ZH[c], f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
                for c, v in m["per_label"].items()
            ],
        ),
        "",
        "## 混淆矩阵 / Confusion matrix (行=真实 rows = true, 列=预测 columns = predicted)",
        _table(
            ["true \\ pred", *LABEL_CODES],
            [[c, *row] for c, row in zip(LABEL_CODES, m["confusion_matrix"]["rows_true_cols_pred"], strict=False)],
        ),
        "",
        "![confusion matrix](confusion_matrix.png) ![reliability](reliability.png)",
        "",
        "## 复核区间 / Review band",
        f"`needs_review` 当置信度 < {th['min_confidence']:.2f} 或前两名概率差 < {th['min_margin']:.2f}。"
        f" / flagged when confidence < {th['min_confidence']:.2f} or the top-two gap < {th['min_margin']:.2f}.",
        f"未标记复核的预测精确率 / precision of unflagged predictions: {th['precision_unflagged']:.3f}"
        f"（目标 / target {th['target_precision']:.2f}{'' if th['target_reached'] else '，未达到 / NOT reached'}）；"
        f"覆盖率 / coverage: {th['coverage']:.1%}"
        + (
            f"。置信度下限 / confidence floor {th['confidence_floor']:.2f}"
            "（真实留言比语料难 / real messages are harder than the corpus: data/REAL-EVAL.md）"
            if th.get("confidence_floor", 0) > 0.25
            else ""
        ),
    ]
    for title, key in (("按语体 / By voice", "by_voice"), ("按领域 / By domain", "by_domain")):
        if report.get(key):
            parts += [
                "",
                f"## {title}",
                _table(
                    ["group", "n", "accuracy", "macro-F1"],
                    [[g, v["n"], f"{v['accuracy']:.3f}", f"{v['macro_f1']:.3f}"] for g, v in report[key].items()],
                ),
            ]
    if report.get("learning_curve"):
        parts += [
            "",
            "## 学习曲线 / Learning curve",
            _table(
                ["training texts", "macro-F1"],
                [[p["train_size"], f"{p['macro_f1']:.3f}"] for p in report["learning_curve"]],
            ),
            "",
            "![learning curve](learning_curve.png)",
        ]
    if report.get("selection"):
        sel = report["selection"]
        parts += [
            "",
            "## 模型选择 / Model selection",
            f"胜出 / winner: **{sel['winner']}** — {sel.get('reason', '')}",
            "",
            _table(
                ["candidate", "macro-F1 (mean ± sd)", "ECE", "seconds"],
                [
                    [c["name"], f"{c['macro_f1']:.3f} ± {c['macro_f1_sd']:.3f}", f"{c['ece']:.3f}", c["seconds"]]
                    for c in sel["candidates"]
                ],
            ),
        ]
    return "\n".join(parts) + "\n"


def save_report(folder: Path, report: dict[str, Any], curve: list[dict[str, float]] | None = None) -> Path:
    """Write report.md, report.json and the figures into `folder`; returns the Markdown path."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    write_figures(folder, report["metrics"], curve)
    (folder / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    path = folder / "report.md"
    path.write_text(render_markdown(report), encoding="utf-8")
    return path
