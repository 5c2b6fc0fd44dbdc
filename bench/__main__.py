"""`make bench`: speed and memory of Buwei, as ratios measured in one run on this machine.

Writes bench/results.json and bench/results.md. Uses the real messages in ../shared/corpus when they
are beside the checkout (realistic lengths), else the corpus texts. Every load generator here is
bounded in requests and time and talks only to 127.0.0.1.

    python -m bench [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench"
REAL = ROOT.parent / "shared" / "corpus" / "citizen_messages.csv"
CORPUS = ROOT / "data" / "complaints.csv"
PY = sys.executable


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load_texts(limit: int) -> tuple[list[str], str]:
    if REAL.exists():
        with REAL.open(encoding="utf-8", newline="") as handle:
            texts = [f"{r['title']}\n{r['text']}".strip() for r in csv.DictReader(handle)]
        return texts[:limit], f"real citizen messages (../shared/corpus), first {min(limit, len(texts))}"
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        base = [r["text"] for r in csv.DictReader(handle)]
    texts = (base * (limit // max(1, len(base)) + 1))[:limit]
    return texts, "corpus texts repeated (../shared not present)"


def rate(n: int, seconds: float, chars: int) -> dict[str, float]:
    return {
        "texts": n,
        "seconds": round(seconds, 3),
        "texts_per_s": round(n / seconds, 1),
        "mb_per_s": round(chars * 3 / 1e6 / seconds, 3),
    }  # UTF-8 Chinese ≈ 3 bytes a character


def child_json(code: str, env: dict[str, str] | None = None, timeout: int = 1800) -> dict[str, Any]:
    """Run `code` in a fresh interpreter (clean memory and caches); it prints one JSON object last."""
    done = subprocess.run(
        [PY, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {done.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- segmentation and the stock pipeline

STOCK_CODE = r"""
import csv, json, sys, time, logging, resource
import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
sys.path.insert(0, "bench")
from stock import jieba_tokens
jieba.setLogLevel(logging.WARNING)
texts = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "%(texts)s", encoding="utf-8"))
rows = list(csv.DictReader(open("data/complaints.csv", encoding="utf-8")))
jieba.lcut("预热")
t = time.perf_counter(); [jieba.lcut(x) for x in texts]; seg = time.perf_counter() - t
stock = Pipeline([("features", FeatureUnion([
    ("word", TfidfVectorizer(tokenizer=jieba_tokens, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True)),
    ("char", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True))])),
    ("classifier", LogisticRegression(C=10, max_iter=3000))])
stock.fit([r["text"] for r in rows], [r["label"] for r in rows])
t = time.perf_counter(); stock.predict(texts); pred = time.perf_counter() - t
print(json.dumps({"segment_s": seg, "stock_s": pred}))
"""


def bench_segmentation_and_stock(texts_file: Path, n: int, chars: int) -> dict[str, Any]:
    got = child_json(STOCK_CODE % {"texts": texts_file})
    ours = child_json(
        "import json,time\nfrom classifier.segment import tokenize\ntokenize('预热急急急')\n"
        f"texts=json.load(open({str(texts_file)!r},encoding='utf-8'))\n"
        "t=time.perf_counter(); [tokenize(x) for x in texts]; print(json.dumps({'s': time.perf_counter()-t}))"
    )
    return {
        "jieba_lcut": rate(n, got["segment_s"], chars),
        "buwei_tokenize": rate(n, ours["s"], chars),
        "stock_pipeline_predict": rate(n, got["stock_s"], chars),
    }


# ---------------------------------------------------------------- batch labelling, end to end


def bench_label(texts: list[str], models: Path, copies: int) -> dict[str, Any]:
    """`buwei label` on a CSV of the texts `copies` times over: an archive is larger than a sample, and a
    few seconds of start-up (imports, model, jieba) would otherwise decide the 2-job scaling."""
    result: dict[str, Any] = {"rows": len(texts) * copies}
    # each copy marked, so that no copy is a repeat (the tokenizer caches the texts it has seen)
    texts = [t if k == 0 else f"{t}（第{k}份）" for k in range(copies) for t in texts]
    chars = sum(len(t) for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with src.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "内容"])
            writer.writerows([i, t] for i, t in enumerate(texts))
        outputs = {}
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}.csv"
            started = time.perf_counter()
            done = subprocess.run(
                [PY, "-m", "classifier", "label", str(src), "-o", str(out), "--jobs", str(jobs), "--quiet"],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "BUWEI_MODELS_DIR": str(models)},
                timeout=3600,
            )
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                return {"error": done.stderr.strip().splitlines()[-1:] or ["buwei label failed"]}
            result[f"jobs_{jobs}"] = rate(len(texts), seconds, chars)
            outputs[jobs] = out.read_bytes()
        result["jobs_2_output_identical"] = outputs[1] == outputs[2]
    return result


# ---------------------------------------------------------------- the API


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    total = 0.0
    pids = [pid] + [
        int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(total, 1)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """Send one prepared request; read the head in one call and the body by its Content-Length (every
    answer of this API has one). The status code, or 0 when the server closed the connection."""
    writer.write(request)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        at = head.lower().find(b"\r\ncontent-length:")
        await reader.readexactly(int(head[at + 17 : head.index(b"\r\n", at + 2)]) if at >= 0 else 0)
    except (asyncio.IncompleteReadError, ConnectionError):
        return 0
    return int(head[9:12])


async def load(
    port: int, path: str, bodies: list[bytes], concurrency: int, seconds: float, limit: int
) -> dict[str, Any]:
    """`concurrency` kept-open connections send requests until `limit` requests or `seconds` pass.

    The client runs on the server's two cores, so what it does per request is kept small: requests are
    encoded before the clock starts and a response is read in two calls.
    """
    requests = [
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
        for body in bodies
    ]
    latencies: list[float] = []
    errors = 0
    clock = time.perf_counter
    deadline = clock() + seconds
    counter = iter(range(limit))

    async def client(k: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                if clock() > deadline:
                    break
                started = clock()
                status = await _request(reader, writer, requests[(i + k) % len(requests)])
                latencies.append(clock() - started)
                if status != 200:
                    errors += 1
                    if status == 0:  # the connection is gone
                        break
        finally:
            writer.close()

    started = clock()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    elapsed = clock() - started
    latencies.sort()

    def pick(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
    }


def start_server(models: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "BUWEI_MODELS_DIR": str(models)}
    env.pop("BUWEI_API_KEY", None)
    proc = subprocess.Popen(
        [PY, "-m", "classifier", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return proc, port
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not become ready")


def bench_api(texts: list[str], models: Path, quick: bool, in_process_tps: float) -> dict[str, Any]:
    if not (ROOT / "api" / "app.py").exists():
        return {"skipped": "api/app.py not present"}
    single = [json.dumps({"text": t[:20000]}).encode() for t in texts[:500]]
    batch = [json.dumps({"texts": texts[i : i + 100]}).encode() for i in range(0, min(len(texts), 2000), 100)]
    result: dict[str, Any] = {}
    run: Callable[[Coroutine[Any, Any, dict[str, Any]]], dict[str, Any]] = asyncio.run
    try:  # the client shares the server's cores, and uvloop's event loop costs it less per request
        import uvloop

        run = uvloop.run
    except ImportError:
        pass
    for workers in (1, 2):
        proc, port = start_server(models, workers)
        try:
            run(load(port, "/v1/classify", single, 4, 3, 200))  # warm-up
            levels = [run(load(port, "/v1/classify", single, c, 4 if quick else 10, 20000)) for c in (1, 16, 64)]
            b = run(load(port, "/v1/classify/batch", batch, 2, 6 if quick else 15, 10000))
            result[f"workers_{workers}"] = {
                "classify": levels,
                "batch_100": {
                    **b,
                    "texts_per_s": round(b["requests_per_s"] * 100, 1),
                    "share_of_in_process": round(b["requests_per_s"] * 100 / in_process_tps, 3),
                },
                "server_rss_mib": rss_mib(proc.pid),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return result


# ---------------------------------------------------------------- training and the model

TRAIN_CODE = r"""
import json, time, resource, sys, csv
from pathlib import Path
factor = int(sys.argv[1])
if factor == 1:
    from classifier.train import train
    t = time.perf_counter(); train(models_root=Path(sys.argv[2])); s = time.perf_counter() - t
else:
    from classifier.train import selected_config
    from classifier.pipeline import build_pipeline
    rows = list(csv.DictReader(open("data/complaints.csv", encoding="utf-8")))
    # an enlargement: every text again with a distinct suffix, so the vocabulary grows too
    texts = [r["text"] + ("" if k == 0 else f" 第{k}份") for k in range(factor) for r in rows]
    labels = [r["label"] for _ in range(factor) for r in rows]
    t = time.perf_counter(); build_pipeline(selected_config()[0]).fit(texts, labels); s = time.perf_counter() - t
print(json.dumps({"seconds": s, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bench_training(models: Path, enlargements: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for factor in [1, *enlargements]:
        code = TRAIN_CODE.replace("sys.argv[1]", repr(str(factor))).replace("sys.argv[2]", repr(str(models)))
        got = child_json(code)
        key = "shipped_corpus_full_train" if factor == 1 else f"fit_only_{factor}x"
        result[key] = {"seconds": round(got["seconds"], 2)}
        if factor == 1:
            result[key]["peak_rss_mib"] = round(got["peak_rss_mib"], 1)
    return result


def bench_model(models: Path) -> dict[str, Any]:
    from classifier.bundle import resolve

    folder = resolve(None, models)
    got = child_json(
        "import json,time\nfrom classifier.predict import Predictor\nt=time.perf_counter()\n"
        "p=Predictor.load()\ns=time.perf_counter()-t\np.predict_one('预热')\n"
        "import resource\nprint(json.dumps({'s':s,'rss':resource.getrusage(resource.RUSAGE_SELF)"
        ".ru_maxrss/1024}))",
        env={"BUWEI_MODELS_DIR": str(models)},
    )
    return {
        "size_mb": round((folder / "model.joblib").stat().st_size / 1e6, 2),
        "load_seconds": round(got["s"], 2),
        "process_rss_after_load_mib": round(got["rss"], 1),
    }


def in_process_rate(texts: list[str], models: Path) -> float:
    got = child_json(
        "import json,time\nfrom classifier.predict import Predictor\np=Predictor.load()\n"
        "p.warm_up(); p.predict(['预热'])\n"
        f"texts=json.load(open({str(TEXTS_FILE)!r},encoding='utf-8'))[:2000]\n"
        "t=time.perf_counter()\nfor i in range(0,len(texts),100): p.predict(texts[i:i+100])\n"
        "print(json.dumps({'tps':len(texts)/(time.perf_counter()-t)}))",
        env={"BUWEI_MODELS_DIR": str(models)},
    )
    return float(got["tps"])


TEXTS_FILE = Path(tempfile.gettempdir()) / "buwei-bench-texts.json"


def render(results: dict[str, Any]) -> str:
    m, g = results["machine"], results["goals"]
    lines = [
        f"# Buwei benchmark — {results['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}.",
        f"Texts: {results['texts']['source']}; {results['texts']['n']} texts, mean "
        f"{results['texts']['mean_chars']} characters.",
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {k} | {v['measured']} | {'yes' if v['met'] else 'NO'} |" for k, v in g.items()]
    seg, lab = results["segmentation_and_stock"], results["batch_labelling"]
    lines += [
        "",
        "## Throughput (texts/s, one process unless stated)",
        "",
        "| what | texts/s | MB/s |",
        "|---|---|---|",
    ]
    for name, row in [
        ("jieba.lcut (segmentation floor)", seg["jieba_lcut"]),
        ("buwei tokenizer (rjieba, jieba-identical)", seg["buwei_tokenize"]),
        ("stock pipeline: jieba + sklearn Pipeline.predict", seg["stock_pipeline_predict"]),
        *[(f"`buwei label`, {lab.get('rows', 0):,} rows, --jobs {j}", lab.get(f"jobs_{j}", {})) for j in (1, 2)],
    ]:
        if row:
            lines.append(f"| {name} | {row['texts_per_s']} | {row['mb_per_s']} |")
    api = results["api"]
    if "workers_1" in api:
        lines += [
            "",
            "## API (kept-open connections on 127.0.0.1)",
            "",
            "| workers | concurrency | req/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|",
        ]
        for w in (1, 2):
            for row in api[f"workers_{w}"]["classify"]:
                lines.append(
                    f"| {w} | {row['concurrency']} | {row['requests_per_s']} | {row['p50_ms']} | "
                    f"{row['p99_ms']} | {row['errors']} |"
                )
        lines += ["", "| workers | batch of 100: texts/s | share of in-process | server RSS MiB |", "|---|---|---|---|"]
        for w in (1, 2):
            b = api[f"workers_{w}"]
            lines.append(
                f"| {w} | {b['batch_100']['texts_per_s']} | {b['batch_100']['share_of_in_process']} | "
                f"{b['server_rss_mib']} |"
            )
    lines += [
        "",
        "## Training and model",
        "",
        "```json",
        json.dumps({"training": results["training"], "model": results["model"]}, ensure_ascii=False, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="fewer texts and shorter load runs")
    parser.add_argument(
        "--enlarge", type=int, action="append", help="corpus enlargements to time training on (default: 10 and 50)"
    )
    args = parser.parse_args()
    n = 3000 if args.quick else 14125
    texts, source = load_texts(n)
    TEXTS_FILE.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    chars = sum(len(t) for t in texts)
    models = Path(tempfile.mkdtemp(prefix="buwei-bench-models-"))
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "texts": {"source": source, "n": len(texts), "mean_chars": round(chars / len(texts))},
    }
    print("training …", file=sys.stderr)
    results["training"] = bench_training(models, args.enlarge or ([10] if args.quick else [10, 50]))
    results["model"] = bench_model(models)
    print("segmentation and stock pipeline …", file=sys.stderr)
    results["segmentation_and_stock"] = bench_segmentation_and_stock(TEXTS_FILE, len(texts), chars)
    print("batch labelling …", file=sys.stderr)
    results["batch_labelling"] = bench_label(texts, models, copies=1 if args.quick else 4)
    tps = in_process_rate(texts, models)
    results["in_process_predict_texts_per_s"] = round(tps, 1)
    print("API …", file=sys.stderr)
    results["api"] = bench_api(texts, models, args.quick, tps)

    stock = results["segmentation_and_stock"]["stock_pipeline_predict"]["texts_per_s"]
    lab = results["batch_labelling"]
    goals: dict[str, Any] = {}
    if "jobs_1" in lab:
        speedup = lab["jobs_1"]["texts_per_s"] / stock
        scaling = lab["jobs_2"]["texts_per_s"] / lab["jobs_1"]["texts_per_s"]
        goals["batch labelling ≥ 3× stock pipeline per core"] = {"measured": f"{speedup:.2f}×", "met": speedup >= 3}
        goals["near-linear scaling to 2 jobs (≥ 1.7×)"] = {"measured": f"{scaling:.2f}×", "met": scaling >= 1.7}
    if "workers_1" in results["api"]:
        c16 = results["api"]["workers_1"]["classify"][1]
        share = results["api"]["workers_1"]["batch_100"]["share_of_in_process"]
        goals["single-text API p99 ≤ 10 ms at concurrency 16 (1 worker)"] = {
            "measured": f"{c16['p99_ms']} ms",
            "met": c16["p99_ms"] <= 10,
        }
        goals["batch API ≥ 80% of in-process speed"] = {"measured": f"{share:.0%}", "met": share >= 0.8}
    train_s = results["training"]["shipped_corpus_full_train"]["seconds"]
    goals["training on the shipped corpus < 30 s"] = {"measured": f"{train_s} s", "met": train_s < 30}
    results["goals"] = goals

    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (OUT_DIR / "results.md").write_text(render(results), encoding="utf-8")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
