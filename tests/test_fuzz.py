"""A bounded schemathesis run against the real app on SQLite and PostgreSQL: no 5xx, and every
response is one the OpenAPI document declares, in the declared shape.

Positive and negative cases (schemathesis' own generation, NUL bytes included) for each operation,
then sequences along the links schemathesis infers; derandomised so a failure reproduces.
`TT_FUZZ_EXAMPLES` / `TT_FUZZ_SEQUENCES` raise the bounds for a longer local run.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, serve

EXAMPLES = int(os.environ.get("TT_FUZZ_EXAMPLES", "25"))
SEQUENCES = int(os.environ.get("TT_FUZZ_SEQUENCES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,  # invalid input is refused with a 4xx, not stored
]


@dataclass
class Findings:
    cases: int = 0
    steps: int = 0  # of them, in sequences
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, label: str, failure: Failure, case: schemathesis.Case) -> None:
        key = (label, failure.title)
        self.failures[key] += 1
        self.examples.setdefault(
            key, f"{failure.message[:300]}\n    reproduce: {case.as_curl_command()}"[:900]
        )

    def report(self) -> str:
        return "\n".join(
            f"{label}: {title} (x{n})\n    {self.examples[(label, title)]}"
            for (label, title), n in sorted(self.failures.items())
        )


def fuzz_operation(operation: schemathesis.APIOperation, base_url: str, findings: Findings) -> None:
    http = requests.Session()
    strategy = strategies.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: findings are collected, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        findings.cases += 1
        response = case.call(base_url=base_url, session=http, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.add(operation.label, failure, case)
        except Failure as failure:
            findings.add(operation.label, failure, case)

    run()


def fuzz_sequences(schema: schemathesis.BaseSchema, base_url: str, findings: Findings) -> None:
    """Sequences along the links schemathesis infers (create a task, then patch, merge or delete
    it...), so operations on rows that exist are exercised, not only 404s."""
    http = requests.Session()

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": base_url, "session": http, "timeout": 30}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, **_: object
        ) -> None:
            findings.cases += 1
            findings.steps += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                for failure in group.exceptions:
                    findings.add(f"{case.operation.label} (in a sequence)", failure, case)
            except Failure as failure:
                findings.add(f"{case.operation.label} (in a sequence)", failure, case)

    Sequences.run(
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=8,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )


def fuzz(base_url: str) -> Findings:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    findings = Findings()
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), base_url, findings)
    fuzz_sequences(schema, base_url, findings)
    return findings


async def test_api_answers_every_generated_request_as_documented(make_settings) -> None:
    settings_ = make_settings(
        slack_signing_secret="slack-signing-secret-for-tests",
        telegram_webhook_secret="telegram-secret",
        telegram_mode="off",
    )
    app = create_app(settings_, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base_url:
        findings = await asyncio.to_thread(fuzz, base_url)
    assert findings.cases > 0 and findings.steps > 0
    print(f"fuzz: {findings.cases} cases, {findings.steps} of them in sequences")
    assert not findings.failures, (
        f"{len(findings.failures)} distinct failures in {findings.cases} cases:\n{findings.report()}"
    )
