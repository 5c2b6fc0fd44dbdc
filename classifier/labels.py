"""The label set, defined once. Definitions follow ../shared/LABELS.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    code: str
    zh: str
    definition_zh: str
    definition_en: str


LABELS: tuple[Label, ...] = (
    Label(
        "unwilling",
        "不想干事",
        "能干而不想干：推诿扯皮、敷衍应付、拖着不办、不催不办、混日子、对群众不理不睬。",
        "Could act and nothing stops them, but they lack the will: buck-passing, stalling, perfunctory replies.",
    ),
    Label(
        "afraid",
        "不敢干事",
        "想干而不敢干：怕出错、怕担责、怕被追责，不敢签字拍板、层层请示、等上级文件。",
        "Would act, but fear of risk, blame or accountability stops them: no signature, endless escalation.",
    ),
    Label(
        "unable",
        "不会干事",
        "想干敢干但不会干：本领不足、不懂新政策、束手无策、矛盾上交，或确实缺钱缺人缺权限。",
        "Would act and dares, but lacks competence, knowledge, methods or the means to act.",
    ),
    Label(
        "other",
        "其他(非为官不为)",
        "不是为官不为的反映：针对企业或个人的投诉、乱作为（受贿、乱收费）、咨询、建议、表扬等。",
        "Not a report of official inaction: complaints about companies or private parties, active "
        "misconduct, questions, suggestions, praise.",
    ),
)

LABEL_CODES: tuple[str, ...] = tuple(label.code for label in LABELS)
LABEL_ZH: dict[str, str] = {label.code: label.zh for label in LABELS}
INACTION_CODES: tuple[str, ...] = ("unwilling", "afraid", "unable")


def label_zh(code: str) -> str:
    return LABEL_ZH[code]
