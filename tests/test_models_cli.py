"""`buwei models list / use / prune`: operators roll back and clean up from the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from classifier import bundle
from classifier.train import TrainResult
from tests.conftest import subprocess_env


def _buwei(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(root),
        timeout=120,
    )


def test_list_use_prune(mini_bundle: TrainResult, tmp_path: Path) -> None:
    root = tmp_path / "models"
    root.mkdir()
    first = mini_bundle.path.name
    shutil.copytree(mini_bundle.path, root / first)
    second = "29991231-000000"
    shutil.copytree(mini_bundle.path, root / second)
    manifest = (root / second / "manifest.json").read_text(encoding="utf-8")
    (root / second / "manifest.json").write_text(manifest.replace(first, second), encoding="utf-8")
    bundle.set_current(second, root)

    listed = _buwei(root, "models", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("* " + second) and "macro-F1" in lines[1]

    assert _buwei(root, "models", "use", first).returncode == 0
    assert bundle.current_version(root) == first

    pruned = _buwei(root, "models", "prune", "--keep", "1")
    assert pruned.returncode == 0
    assert (root / first).exists()  # the current version is never pruned, even when it is the oldest
    assert (root / second).exists()


def test_use_unknown_version_fails_cleanly(mini_bundle: TrainResult) -> None:
    done = _buwei(mini_bundle.path.parent, "models", "use", "no-such-version")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "not found" in done.stderr


def test_use_refuses_a_tampered_version(mini_bundle: TrainResult, tmp_path: Path) -> None:
    root = tmp_path / "models"
    shutil.copytree(mini_bundle.path, root / "bad")
    (root / "bad" / "model.joblib").write_bytes(b"evil")
    done = _buwei(root, "models", "use", "bad")
    assert done.returncode == 1 and "sha256" in done.stderr
    assert bundle.current_version(root) is None
