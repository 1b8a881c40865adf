"""Schemathesis over the served ``/openapi.json`` of a real embedded server.

Every operation gets schema-valid (positive) and schema-invalid (negative)
requests; every response must be documented (status, content type, body
schema), never a 5xx, and every request the schema calls invalid must be
refused with a 4xx. The requests carry a signed-up user's bearer token.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from tests.support.server import ServerProcess, start_server

API = "/api/v1"
PASSWORD = "correct horse battery"
# Per operation and generation mode; with ~25 operations the run stays
# well under a minute on a shared machine.
MAX_EXAMPLES = 20
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
]

generated: Counter[str] = Counter()


def _images(fmt: str) -> st.SearchStrategy[bytes]:
    """Real, small images: the document says what a part's bytes must be
    (``encoding.file.contentType``), and schemathesis draws them from here."""

    def encode(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", size, color).save(buffer, fmt)
        return buffer.getvalue()

    sizes = st.tuples(st.integers(1, 64), st.integers(1, 64))
    colors = st.tuples(*[st.integers(0, 255)] * 3)
    return st.builds(encode, sizes, colors)


for _media_type, _format in [("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")]:
    schemathesis.openapi.media_type(_media_type, _images(_format))


def _signup(base_url: str, username: str) -> str:
    response = httpx.post(
        f"{base_url}{API}/accounts",
        json={"username": username, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # tests.support.server raises the sign-up and log-in rate limits through
    # their settings (GRAMSTACK_*_RATE_PER_MINUTE), as every API test does.
    proc = start_server(Path(tmp_path_factory.mktemp("fuzzed-server")), workers=1)
    try:
        yield proc
    finally:
        code = proc.stop()
        counts = ", ".join(f"{op}: {n}" for op, n in sorted(generated.items()))
        print(
            f"\nschemathesis: {sum(generated.values())} requests over {len(generated)}"
            f" operations ({counts})"
        )
    assert code == 0, proc.log()


@pytest.fixture(scope="module")
def token(fuzzed_server: ServerProcess) -> str:
    return _signup(fuzzed_server.base_url, "fuzzer")


def _schema(base_url: str) -> Any:
    config = SchemathesisConfig.from_dict(
        {"checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}}
    )
    return schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)


def _only_retyped_form_text(case: Any) -> bool:
    """Negative data that is valid on the wire: a multipart part is text, so a
    caption "made a number" (``4.6e-155``) is a caption like any other."""
    data = case.meta.phase.data if case.meta is not None else None
    mutations = getattr(data, "mutations", None)
    return bool(
        case.media_type == "multipart/form-data"
        and mutations
        and all(
            m.operator == OperatorKind.CHANGE_TYPE
            and m.parameter_location == ParameterLocation.BODY
            for m in mutations
        )
    )


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, token: str) -> list[str]:
    """Run ``MAX_EXAMPLES`` generated requests; the failed checks, as text."""
    label = f"{operation.method.upper()} {operation.path} [{mode.value}]"
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        generated[label] += 1
        bearer = token
        if case.path == f"{API}/sessions/current":
            # Logging out revokes the token: each log-out gets its own.
            bearer = _signup(base_url, f"fuzz{generated.total()}")
        excluded = []
        if _only_retyped_form_text(case):
            excluded.append(negative_data_rejection)
        if "cursor" in (case.query or {}):
            # Cursors are opaque and carry a checksum: the document states
            # their alphabet and length, and that any cursor the server did
            # not hand out is 400 `invalid_cursor`; no schema can say more.
            excluded.append(positive_data_acceptance)
        try:
            case.call_and_validate(
                base_url=base_url,
                headers={"Authorization": f"Bearer {bearer}"},
                excluded_checks=excluded,
            )
        except (Exception, FailureGroup) as error:  # FailureGroup is a BaseException
            failures.append(f"{label}: {error}")

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid: the operation takes no parameters or body.
        assert mode is GenerationMode.NEGATIVE, label
    return failures


def test_server_keeps_to_its_openapi_document(fuzzed_server: ServerProcess, token: str) -> None:
    # Hypothesis drives schemathesis's strategies directly: its pytest plugin
    # does not run under pytest 9.2 (it sets ``Function._nodeid``).
    failures: list[str] = []
    for result in _schema(fuzzed_server.base_url).get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(result.ok(), mode, fuzzed_server.base_url, token)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:15])
