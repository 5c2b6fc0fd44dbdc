"""schemathesis against the app's own OpenAPI, in-process (ASGI): no input gives a server error.

Driven through `operation.as_strategy()` inside ordinary tests: schemathesis' pytest plugin
(`from_fixture` + `parametrize`) does not run under pytest 9 (it reads a removed node attribute).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi

from api.app import create_app
from api.settings import Settings
from classifier.train import TrainResult

pytestmark = pytest.mark.slow
EXAMPLES = 30  # per operation and generation mode


@pytest.fixture(scope="module")
def api_schema(mini_bundle: TrainResult) -> Iterator[Any]:
    app = create_app(Settings(models_dir=mini_bundle.path.parent, reload_poll_seconds=0, api_key=None))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan: stop it with the module


def checker(operation: Any, mode: GenerationMode, statuses: set[int]) -> Callable[[], None]:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        response = case.call()
        statuses.add(response.status_code)
        assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:300]}"
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message"}

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_input_gives_a_server_error(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    seen: dict[str, set[int]] = {}
    for operation in operations:
        statuses = seen.setdefault(operation.label, set())
        try:
            checker(operation, mode, statuses)()
        except Unsatisfiable:  # no invalid input exists for an operation without parameters or body
            assert mode is GenerationMode.NEGATIVE and not statuses, operation.label
    # The run reached the handlers: valid input was answered, invalid input refused.
    expected = 200 if mode is GenerationMode.POSITIVE else 422
    for label in ("POST /v1/classify", "POST /v1/classify/batch"):
        assert expected in seen[label], (label, seen[label])
