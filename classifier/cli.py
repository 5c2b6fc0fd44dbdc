"""The `buwei` command line. Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from classifier.errors import BadInputError, BuweiError
from classifier.pii import mask_pii

PRIORS_HELP = (
    "expected label mix of your texts, e.g. other=0.65,unwilling=0.3,afraid=0.03,unable=0.02 "
    "(default: BUWEI_PRIORS, else the balanced training mix)"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"buwei: 用法错误 / usage error: {mask_pii(message)} (buwei --help)\n")


def _cmd_train(args: argparse.Namespace) -> int:
    from classifier.config import DEFAULT_CORPUS
    from classifier.train import train

    if args.only and not args.data:
        raise BadInputError("--only 需要至少一个 --data 文件", "--only needs at least one --data file")
    paths = [DEFAULT_CORPUS, *args.data] if not args.only else list(args.data)
    result = train(paths, folds=args.folds, with_curve=not args.no_curve)
    print(result.summary())
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from classifier import assess

    if args.model and not args.data:
        raise BadInputError(
            "--model 只与 --data 一起使用（交叉验证总是重新训练）",
            "--model goes with --data (cross-validation always trains afresh)",
        )
    if args.data:
        path, report = assess.external(args.data, args.model, args.out, args.priors)
    else:
        path, report = assess.cross_validated(folds=args.folds, repeats=args.repeats, out_dir=args.out)
    m, th = report["metrics"], report["thresholds"]
    print(
        f"{report['method']}: macro-F1 {m['macro_f1']:.3f}, accuracy {m['accuracy']:.3f}, "
        f"ECE {m['calibration']['ece']:.3f}"
    )
    for code, v in m["per_label"].items():
        print(
            f"  {code:<10} precision {v['precision']:.3f}  recall {v['recall']:.3f}  F1 {v['f1']:.3f}  n={v['support']}"
        )
    print(f"  review band: unflagged precision {th['precision_unflagged']:.3f}, coverage {th['coverage']:.0%}")
    print(f"report: {path}")
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    from classifier.config import DEFAULT_CORPUS
    from classifier.corpus import load_examples
    from classifier.selection import compare, save
    from classifier.train import SELECTION_FILE

    examples = load_examples([DEFAULT_CORPUS])
    result = compare(
        [e.text for e in examples],
        [e.label for e in examples],
        folds=args.folds,
        repeats=args.repeats,
        progress=lambda line: print(line, file=sys.stderr),
    )
    save(result, SELECTION_FILE)
    print(f"winner: {result['winner']} ({result['reason']}); written to {SELECTION_FILE}")
    return 0


def _read_text_argument(args: argparse.Namespace) -> str:
    text = " ".join(args.text) if args.text else sys.stdin.read()
    if not text.strip():
        raise BadInputError("文本为空，请提供要分类的文本", "empty text: give the text as an argument or on stdin")
    return text


def _cmd_predict(args: argparse.Namespace) -> int:
    from classifier.predict import Predictor

    text = _read_text_argument(args)
    result = Predictor.load(args.model, args.priors).predict_one(text)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2 if args.pretty else None))
    return 0


def _cmd_label(args: argparse.Namespace) -> int:
    from classifier.labelling import SupportsPredict, TextColumns, label_file

    def load_model() -> SupportsPredict:
        # loaded only once the input has been read and found usable: bad input fails fast
        from classifier.predict import Predictor

        return Predictor.load(args.model, args.priors)

    def say_columns(chosen: TextColumns) -> None:
        if chosen.guessed:
            print(f"buwei: {mask_pii(chosen.describe())}", file=sys.stderr)

    summary = label_file(
        args.input,
        args.output,
        predictor=load_model,
        text_columns=args.text_column or None,
        jobs=args.jobs,
        encoding=args.encoding,
        show_progress=not args.quiet,
        on_columns=say_columns,
    )
    print(summary.render(), file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from classifier.serving import serve

    return serve(args.host, args.port, args.workers)


def _cmd_models(args: argparse.Namespace) -> int:
    from classifier import bundle

    if args.action == "list":
        current = bundle.current_version()
        for m in bundle.list_versions():
            mark = "*" if m["version"] == current else " "
            f1 = m.get("metrics", {}).get("macro_f1", float("nan"))
            print(
                f"{mark} {m['version']}  {m.get('trained_at', '')}  data {m.get('data', {}).get('sha256', '')[:12]}"
                f"  macro-F1 {f1:.3f}"
            )
    elif args.action == "use":
        if not args.version:
            raise BadInputError("请指定版本：buwei models use VERSION", "give a version: buwei models use VERSION")
        bundle.set_current(bundle.verify(bundle.resolve(args.version))["version"])
        print(f"current model: {args.version}")
    else:
        removed = bundle.prune(args.keep)
        print(f"removed {len(removed)} old version(s): {' '.join(removed) or '-'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="buwei", description="Buwei 不为: why did the official not act? 为官不为原因分类")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a new model version and make it current")
    p.add_argument("--data", type=Path, action="append", default=[], help="extra labelled CSV (text,label)")
    p.add_argument("--only", action="store_true", help="train on --data files only, without data/complaints.csv")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds for metrics and thresholds")
    p.add_argument("--no-curve", action="store_true", help="skip the learning curve (faster)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="cross-validated report, or score a saved model on --data")
    p.add_argument("--data", type=Path, help="external labelled CSV (text,label) to score a saved model on")
    p.add_argument("--model", help="model version or bundle path (default: current)")
    p.add_argument("--priors", help=PRIORS_HELP)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, help="report folder (default: reports/<kind>-<time>)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("select", help="compare candidate pipelines by cross-validation; record the winner")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2)
    p.set_defaults(func=_cmd_select)

    p = sub.add_parser("predict", help="classify one text (argument or stdin); prints JSON")
    p.add_argument("text", nargs="*")
    p.add_argument("--model", help="model version or bundle path (default: current)")
    p.add_argument("--priors", help=PRIORS_HELP)
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("label", help="label a CSV/TSV/XLSX/JSONL file")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, help="default: INPUT with .labelled before the suffix")
    p.add_argument("--text-column", action="append", default=[], help="text column; repeat to join several")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes")
    p.add_argument("--encoding", help="force the input encoding (e.g. gb18030)")
    p.add_argument("--model", help="model version or bundle path (default: current)")
    p.add_argument("--priors", help=PRIORS_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_label)

    p = sub.add_parser("serve", help="serve the API and web page")
    p.add_argument("--host", default=None, help="default: HOST or 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    p.add_argument("--workers", type=int, default=None, help="default: WORKERS or 1")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("models", help="list model versions, roll back, prune")
    p.add_argument("action", choices=["list", "use", "prune"])
    p.add_argument("version", nargs="?")
    p.add_argument("--keep", type=int, default=5, help="with prune: how many newest versions to keep")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BuweiError as exc:
        print(f"buwei: {mask_pii(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("buwei: 已中断 / interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment failure: one line, no traceback, no text
        print(f"buwei: 内部错误 / internal error: {type(exc).__name__}: {mask_pii(str(exc))[:300]}", file=sys.stderr)
        return 1
