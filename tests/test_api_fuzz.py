"""Schemathesis over the whole REST API, through the WSGI app (no network).

Every operation of ``/api/v1/openapi.json`` (every installed model's routes) gets a bounded
number of generated requests, as an administrator and as a salesman: no response may be a
5xx, and every response must conform to the document (status code, content type, body).
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from api_support import build_world
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

# (mode, examples per operation): the salesman gets both, the administrator valid data only.
# KONTORA_FUZZ_SCALE=10 multiplies the examples for a deeper run by hand.
SCALE = int(os.environ.get("KONTORA_FUZZ_SCALE", "1"))
MODES = ((GenerationMode.POSITIVE, 3 * SCALE), (GenerationMode.NEGATIVE, 2 * SCALE))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# Administrators may change what the fuzzer runs on (its own user, rights, installed
# addons, the registry version): those writes are covered by targeted tests instead.
SYSTEM_MODELS = {
    "ir.module.module",
    "ir.config_parameter",
    "ir.model.fields",
    "ir.model.data",
    "ir.model.access",
    "ir.rule",
    "res.groups",
    "res.users",
}

pytestmark = pytest.mark.slow


def _model_of(operation) -> str:
    return operation.path.split("/")[3]


def _visible_ids(world, login) -> dict:
    """One record per model that the user can see (positive cases then hit real records)."""
    found = {}
    for name, cls in world.registry.models.items():
        if cls._abstract:
            continue
        response = world.get(login, f"/api/v1/{name}?fields=id&limit=1&order=id%20desc")
        records = response.get_json()["records"] if response.status_code == 200 else []
        found[name] = records[0]["id"] if records else 1
    return found


def test_no_server_errors_and_responses_match_the_document(install, config):
    world = build_world(install, config)
    started = time.monotonic()
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", world.app, headers=world.headers("admin")
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {op.path for op in operations}
    for name, cls in world.registry.models.items():
        if not cls._abstract:
            assert f"/api/v1/{name}" in paths and f"/api/v1/{name}/{{id}}" in paths
    # Deletions last, so that the other operations find the records they are given.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")

    failures = []
    for login, modes in (("sales_a", MODES), ("admin", MODES[:1])):
        headers = world.headers(login)
        ids = _visible_ids(world, login)
        for operation in operations:
            model = _model_of(operation)
            if login == "admin" and operation.method.upper() != "GET" and model in SYSTEM_MODELS:
                continue
            for mode, examples in modes:
                fixed = {}
                if mode is GenerationMode.POSITIVE and "{id}" in operation.path:
                    fixed = {"id": ids[model]}
                try:
                    _fuzz(operation, mode, examples, headers, fixed)
                except (Exception, BaseExceptionGroup) as exc:  # collect all, then report
                    failures.append(f"{login} {operation.label} {mode.value}: {exc}")
    assert not failures, f"{len(failures)} failing operations:\n\n" + "\n\n".join(failures[:10])
    assert SCALE > 1 or time.monotonic() - started < 240


def _fuzz(operation, mode, examples, headers, path_parameters):
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
