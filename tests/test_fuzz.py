"""A bounded schemathesis run against the real app on SQLite and PostgreSQL: no 5xx, and every
response is one the OpenAPI document declares, in the declared shape. It runs twice: as an admin
(a Bearer API token), and anonymously, when every operation but the public ones must refuse (401).

Positive and negative cases (schemathesis' own generation, NUL bytes included) for each operation,
then sequences along the links schemathesis infers; derandomised so a failure reproduces.
`TT_FUZZ_EXAMPLES` / `TT_FUZZ_SEQUENCES` raise the bounds for a longer local run.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
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

from tasktracker.api.access import PUBLIC, rule_of
from tasktracker.api.app import create_app
from tasktracker.auth import passwords, service
from tasktracker.models import ApiToken, Role, User
from tasktracker.runtime import Role as ProcessRole
from tasktracker.unit_of_work import unit_of_work
from tests.support.app import ScriptedClassifier, serve

EXAMPLES = int(os.environ.get("TT_FUZZ_EXAMPLES", "25"))
SEQUENCES = int(os.environ.get("TT_FUZZ_SEQUENCES", "10"))
# Anonymous calls stop at the refusal, so fewer are enough to cover each operation's inputs.
ANONYMOUS_EXAMPLES = max(1, EXAMPLES // 2)
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


REFUSED_BEFORE_ROUTING = {
    "invalid_characters",
    "invalid_number",
    "json_too_deep",
    "malformed_json",
    "content_too_large",
    "bad_request",  # FastAPI reads and parses the body before any dependency runs: not UTF-8 JSON
}


@dataclass
class Caller:
    """Who the run calls as: headers to send, and for an anonymous run the operations open to anyone."""

    headers: dict[str, str] = field(default_factory=dict)
    public: set[tuple[str, str]] | None = None  # None: signed in; else (METHOD, path) of public ones

    def refusal(self, case: schemathesis.Case, response: requests.Response) -> str | None:
        """What is wrong with the answer to an anonymous call of a protected operation, if anything."""
        if self.public is None or (case.method.upper(), case.operation.path) in self.public:
            return None
        if response.status_code == 401:
            return None
        # Input refused before anyone is asked who is calling (a NUL or a lone surrogate anywhere, a
        # body that is not JSON, too deep or too large) gets its own 4xx; nothing else, never data.
        try:
            body = response.json()
        except ValueError:
            body = {}
        code, detail = body.get("code"), body.get("detail")
        if response.status_code in (400, 404, 413, 422) and code in REFUSED_BEFORE_ROUTING:
            return None
        if code == "validation_error" and all(issue.get("type") == "json_invalid" for issue in detail):
            return None  # the body is not JSON: FastAPI parses it before any dependency runs
        return f"anonymous {case.method} {case.formatted_path} answered {response.status_code}, not 401"


def fuzz_operation(
    operation: schemathesis.APIOperation, base_url: str, findings: Findings, caller: Caller
) -> None:
    http = requests.Session()
    http.headers.update(caller.headers)
    strategy = strategies.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES if caller.public is None else ANONYMOUS_EXAMPLES,
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
        refused_wrongly = caller.refusal(case, response)
        if refused_wrongly:
            findings.add(
                operation.label,
                Failure(operation=operation.label, title="not refused", message=refused_wrongly),
                case,
            )
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                findings.add(operation.label, failure, case)
        except Failure as failure:
            findings.add(operation.label, failure, case)

    run()


def fuzz_sequences(
    schema: schemathesis.BaseSchema, base_url: str, findings: Findings, caller: Caller
) -> None:
    """Sequences along the links schemathesis infers (create a task, then patch, merge or delete
    it...), so operations on rows that exist are exercised, not only 404s."""
    http = requests.Session()
    http.headers.update(caller.headers)

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


def fuzz(base_url: str, caller: Caller) -> Findings:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    findings = Findings()
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), base_url, findings, caller)
    if caller.public is None:  # sequences need rows, which only a signed-in run makes
        fuzz_sequences(schema, base_url, findings, caller)
    return findings


# The fuzzing admin's row and token get ids the generated ones are unlikely to hit, so a generated
# DELETE /api/tokens/{id} or PATCH /api/users/{id} does not end the run's own access.
FUZZ_ADMIN_ID = 1_234_567_890


async def fuzz_admin_token(app: FastAPI) -> str:
    async with unit_of_work(app.state.runtime) as uow:
        uow.session.add(
            User(
                id=FUZZ_ADMIN_ID,
                username="fuzz-admin",
                role=Role.admin.value,
                password_hash=passwords.hash_password("not used: the run signs in with a token"),
            )
        )
        await uow.session.flush()  # the user before the token that refers to it
        value = service.new_token()
        uow.session.add(
            ApiToken(
                id=FUZZ_ADMIN_ID,
                user_id=FUZZ_ADMIN_ID,
                name="fuzz",
                token_hash=service.digest(value),
                prefix=value[:10],
            )
        )
    return value


def public_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path_format)
        for route in iter_route_contexts(app.routes)
        if rule_of(route) == PUBLIC
        for method in route.methods or ()
    }


@pytest.mark.timeout(400)  # a few thousand requests; argon2 hashing for each generated user
@pytest.mark.parametrize("caller", ["admin", "anonymous"])
async def test_api_answers_every_generated_request_as_documented(
    make_settings, database_url: str, caller: str
) -> None:
    if caller == "anonymous" and not database_url.startswith("sqlite"):
        pytest.skip("anonymous calls end at the refusal, before any query: one database is enough")
    settings_ = make_settings(
        slack_signing_secret="slack-signing-secret-for-tests",
        telegram_webhook_secret="telegram-secret",
        telegram_mode="off",
        auth="on",
    )
    app = create_app(settings_, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base_url:
        if caller == "admin":
            who = Caller(headers={"authorization": f"Bearer {await fuzz_admin_token(app)}"})
        else:
            who = Caller(public=public_operations(app))
        findings = await asyncio.to_thread(fuzz, base_url, who)
    assert findings.cases > 0 and (findings.steps > 0 or caller == "anonymous")
    print(f"fuzz ({caller}): {findings.cases} cases, {findings.steps} of them in sequences")
    assert not findings.failures, (
        f"{len(findings.failures)} distinct failures in {findings.cases} cases:\n{findings.report()}"
    )
