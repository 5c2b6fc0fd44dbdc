"""Model bundles: models/<version>/{model.joblib, manifest.json, report.md, *.png}, and a CURRENT pointer.

joblib (pickle) runs code on load, so a bundle is verified from its manifest BEFORE unpickling: the
model file's sha256, the label set, and the library versions it was built with. Writes are atomic:
a bundle is assembled in a hidden temp folder and renamed into place; the pointer is replaced whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import joblib

from classifier.config import models_dir
from classifier.errors import ModelError
from classifier.labels import LABEL_CODES

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
POINTER_FILE = "CURRENT"
FORMAT = 1


def library_versions() -> dict[str, str]:
    """Versions that decide whether a pickle is loadable and behaves the same."""
    return {
        "python": platform.python_version(),
        "scikit-learn": package_version("scikit-learn"),
        "numpy": package_version("numpy"),
        "scipy": package_version("scipy"),
        "jieba": package_version("jieba"),
        "joblib": package_version("joblib"),
    }


def _compatible(built: dict[str, str], running: dict[str, str]) -> list[str]:
    """Mismatches that make loading unsafe: exact scikit-learn and jieba, same Python and NumPy minor."""
    problems = []
    for name in ("scikit-learn", "jieba"):
        if built.get(name) != running[name]:
            problems.append(f"{name} {built.get(name)} != {running[name]}")
    for name in ("python", "numpy"):
        if built.get(name, "").split(".")[:2] != running[name].split(".")[:2]:
            problems.append(f"{name} {built.get(name)} != {running[name]}")
    return problems


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_version(root: Path) -> str:
    """A sortable, unique version name: UTC time to the second, with a suffix on collision."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    candidate, n = stamp, 1
    while (root / candidate).exists():
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


@dataclass
class Bundle:
    """A verified bundle on disk and its loaded model."""

    path: Path
    manifest: dict[str, Any]
    model: Any

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def save_bundle(
    model: Any,
    manifest: dict[str, Any],
    write_extras: Callable[[Path, str], None] | None = None,
    root: Path | None = None,
    make_current: bool = True,
) -> Path:
    """Write a new bundle atomically and (by default) point CURRENT at it. Returns its folder."""
    root = root or models_dir()
    root.mkdir(parents=True, exist_ok=True)
    version = new_version(root)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=root))
    try:
        joblib.dump(model, staging / MODEL_FILE, compress=3)
        full = {
            "format": FORMAT,
            "version": version,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_file": MODEL_FILE,
            "model_sha256": sha256_file(staging / MODEL_FILE),
            "labels": list(LABEL_CODES),
            "library_versions": library_versions(),
            **manifest,
        }
        if write_extras is not None:
            write_extras(staging, version)
        _write_json_atomic(staging / MANIFEST_FILE, full)
        os.chmod(staging, 0o755)
        os.rename(staging, root / version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if make_current:
        set_current(version, root)
    return root / version


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def set_current(version: str, root: Path | None = None) -> None:
    """Point CURRENT at an existing, verifiable version (atomic replace)."""
    root = root or models_dir()
    read_manifest(root / version)  # refuse to point at something that would not load
    tmp = root / f".{POINTER_FILE}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, root / POINTER_FILE)


def current_version(root: Path | None = None) -> str | None:
    pointer = (root or models_dir()) / POINTER_FILE
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


def list_versions(root: Path | None = None) -> list[dict[str, Any]]:
    """Manifests of every readable bundle, oldest first."""
    root = root or models_dir()
    if not root.exists():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            found.append(read_manifest(folder))
        except ModelError:
            continue
    return found


def resolve(version_or_path: str | Path | None = None, root: Path | None = None) -> Path:
    """A bundle folder from a version name, a path, or (None) the CURRENT pointer."""
    root = root or models_dir()
    if version_or_path is None:
        version = current_version(root)
        if version is None:
            raise ModelError(
                f"没有可用的模型：{root} 下没有 CURRENT，请先运行 buwei train",
                f"no model: {root} has no CURRENT pointer; run `buwei train` first",
            )
        return root / version
    candidate = Path(version_or_path)
    if (candidate / MANIFEST_FILE).exists():
        return candidate
    if (root / str(version_or_path) / MANIFEST_FILE).exists():
        return root / str(version_or_path)
    raise ModelError(f"找不到模型版本 {version_or_path}", f"model version {version_or_path} not found in {root}")


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"模型清单无法读取：{folder}", f"cannot read the manifest in {folder}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"模型清单格式不对：{folder}", f"unsupported manifest format in {folder}")
    return manifest


def verify(folder: Path) -> dict[str, Any]:
    """Check a bundle without unpickling it. Returns its manifest or raises ModelError."""
    manifest = read_manifest(folder)
    model_path = folder / str(manifest.get("model_file", MODEL_FILE))
    if not model_path.is_file():
        raise ModelError(f"模型文件缺失：{model_path}", f"model file missing: {model_path}")
    if sha256_file(model_path) != manifest.get("model_sha256"):
        raise ModelError(
            f"模型文件校验失败（sha256 不符），拒绝加载：{model_path}",
            f"model file sha256 does not match its manifest; refusing to load {model_path}",
        )
    if tuple(manifest.get("labels", ())) != LABEL_CODES:
        raise ModelError(
            f"模型的标签集与本程序不一致：{manifest.get('labels')}",
            f"model label set {manifest.get('labels')} differs from {list(LABEL_CODES)}",
        )
    problems = _compatible(manifest.get("library_versions", {}), library_versions())
    if problems:
        raise ModelError(
            "模型由不同版本的库训练，拒绝加载，请重新训练：" + "; ".join(problems),
            "model was built with other library versions; retrain it: " + "; ".join(problems),
        )
    return manifest


def load_bundle(version_or_path: str | Path | None = None, root: Path | None = None) -> Bundle:
    """Resolve, verify, then unpickle a bundle."""
    folder = resolve(version_or_path, root)
    manifest = verify(folder)
    try:
        model = joblib.load(folder / str(manifest["model_file"]))
    except Exception as exc:  # a verified file that still fails to unpickle: say so in one line
        raise ModelError(
            f"模型文件无法加载：{folder}", f"cannot load model in {folder}: {type(exc).__name__}"
        ) from None
    return Bundle(path=folder, manifest=manifest, model=model)


def prune(keep: int, root: Path | None = None) -> list[str]:
    """Delete all but the newest `keep` versions (never the current one). Returns what was removed."""
    root = root or models_dir()
    current = current_version(root)
    versions = [m["version"] for m in list_versions(root)]
    doomed = [v for v in versions[: max(0, len(versions) - keep)] if v != current]
    for version in doomed:
        shutil.rmtree(root / version)
    return doomed
