"""Local stand-ins for the trackers tasks are exported to: GitHub REST, Jira Cloud REST v3, Linear
GraphQL, and a JSON webhook receiver. Each is a small ASGI app the test serves over real HTTP.

They speak the real request and response shapes the clients rely on (paths, status codes, headers,
bodies, pagination) and keep their issues in memory. A test scripts faults on them: rate limits as the
real service answers them, server errors, and lost responses (the request is carried out, then the
answer never comes: the client times out).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from graphql import GraphQLError, build_schema, graphql

Handler = Callable[[Request], Awaitable[Response]]


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Fault:
    method: str
    path: str  # a regular expression matched against the request path
    kind: str  # what the tracker answers: see each stand-in's `fault_response`; "lose": no answer
    times: int = 1
    retry_after: int = 1


@dataclass
class Call:
    at: float
    method: str
    path: str
    answered: int | None = None


class StandIn:
    """Common machinery: the call log and scripted faults."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.lose_for_s = 3.0  # longer than the clients' timeout in the tests
        # Set when the test is done with the stand-in: an answer still held back is let go then, so
        # stopping the server does not wait out the rest of `lose_for_s` for a client long gone.
        self.released = asyncio.Event()
        self.app.middleware("http")(self._middleware)

    def script(self, method: str, path: str, kind: str, *, times: int = 1, retry_after: int = 1) -> None:
        self.faults.append(Fault(method, path, kind, times, retry_after))

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(path, c.path)]

    def fault_response(self, fault: Fault) -> Response:
        raise NotImplementedError

    async def _middleware(self, request: Request, call_next: Handler) -> Response:
        call = Call(time.monotonic(), request.method, request.url.path)
        self.calls.append(call)
        for fault in self.faults:
            if fault.times > 0 and fault.method == request.method and re.search(fault.path, request.url.path):
                fault.times -= 1
                if fault.kind == "lose":
                    response = await call_next(request)  # done on the tracker's side ...
                    with contextlib.suppress(TimeoutError):  # ... but the answer never arrives in time
                        await asyncio.wait_for(self.released.wait(), self.lose_for_s)
                    return response
                response = self.fault_response(fault)
                call.answered = response.status_code
                return response
        response = await call_next(request)
        call.answered = response.status_code
        return response


# GitHub ------------------------------------------------------------------------------------------------


class FakeGitHub(StandIn):
    """`/repos/{owner}/{repo}/issues` (list with `Link` pagination, create), `/issues/{number}` (get,
    update). Bearer token; primary and secondary rate limits as GitHub answers them."""

    def __init__(self, token: str = "ghp_test", repository: str = "acme/web") -> None:
        super().__init__()
        self.token = token
        self.repository = repository
        self.issues: dict[int, dict[str, Any]] = {}
        self.base_url = ""  # set by the test once served
        app = self.app

        @app.get("/repos/{owner}/{repo}/issues")
        async def list_issues(owner: str, repo: str, request: Request) -> Response:
            if (denied := self._check(request, owner, repo)) is not None:
                return denied
            q = request.query_params
            per_page = min(int(q.get("per_page", 30)), 100)
            page = int(q.get("page", 1))
            items = list(self.issues.values())
            if q.get("state", "open") != "all":
                items = [i for i in items if i["state"] == q.get("state", "open")]
            if "since" in q:
                items = [i for i in items if i["updated_at"] >= q["since"]]
            items.sort(key=lambda i: i["number"], reverse=q.get("direction", "desc") == "desc")
            chunk = items[(page - 1) * per_page : page * per_page]
            headers = self._rate_headers()
            if page * per_page < len(items):
                nxt = request.url.include_query_params(page=page + 1)
                headers["Link"] = f'<{nxt}>; rel="next"'
            return JSONResponse(chunk, headers=headers)

        @app.post("/repos/{owner}/{repo}/issues")
        async def create_issue(owner: str, repo: str, request: Request) -> Response:
            if (denied := self._check(request, owner, repo)) is not None:
                return denied
            body = await request.json()
            if not isinstance(body.get("title"), str) or not body["title"]:
                return JSONResponse(
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    },
                    status_code=422,
                )
            issue = self.add_issue(body["title"], body.get("body") or "", labels=body.get("labels") or [])
            issue["assignees"] = [{"login": a} for a in body.get("assignees") or []]
            return JSONResponse(issue, status_code=201, headers=self._rate_headers())

        @app.get("/repos/{owner}/{repo}/issues/{number}")
        async def get_issue(owner: str, repo: str, number: int, request: Request) -> Response:
            if (denied := self._check(request, owner, repo)) is not None:
                return denied
            if number not in self.issues:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            return JSONResponse(self.issues[number], headers=self._rate_headers())

        @app.patch("/repos/{owner}/{repo}/issues/{number}")
        async def update_issue(owner: str, repo: str, number: int, request: Request) -> Response:
            if (denied := self._check(request, owner, repo)) is not None:
                return denied
            if number not in self.issues:
                return JSONResponse({"message": "Not Found"}, status_code=404)
            body = await request.json()
            if "state" in body:
                if body["state"] not in ("open", "closed"):
                    return JSONResponse({"message": "Validation Failed"}, status_code=422)
                self.set_state(number, body["state"], body.get("state_reason"))
            return JSONResponse(self.issues[number], headers=self._rate_headers())

    def _check(self, request: Request, owner: str, repo: str) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                status_code=401,
            )
        if request.headers.get("x-github-api-version") != "2022-11-28":
            return JSONResponse({"message": "Unsupported API version"}, status_code=400)
        if f"{owner}/{repo}" != self.repository:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        return None

    def _rate_headers(self, remaining: int = 4999) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "secondary":  # 403 with Retry-After
            return JSONResponse(
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
                },
                status_code=403,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == "primary":  # 403, nothing remaining until the reset time
            headers = self._rate_headers(remaining=0)
            headers["X-RateLimit-Reset"] = str(int(time.time()) + fault.retry_after)
            return JSONResponse({"message": "API rate limit exceeded"}, status_code=403, headers=headers)
        if fault.kind == "forbidden":
            return JSONResponse(
                {"message": "Resource not accessible by personal access token"}, status_code=403
            )
        return JSONResponse({"message": "Server Error"}, status_code=502)

    def add_issue(self, title: str, body: str = "", *, labels: list[str] | None = None) -> dict[str, Any]:
        number = len(self.issues) + 1
        now = _now_iso()
        issue = {
            "id": 1000 + number,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "state_reason": None,
            "labels": [{"name": name} for name in labels or []],
            "assignees": [],
            "html_url": f"https://github.example/{self.repository}/issues/{number}",
            "created_at": now,
            "updated_at": now,
        }
        self.issues[number] = issue
        return issue

    def set_state(self, number: int, state: str, reason: str | None = None) -> None:
        issue = self.issues[number]
        issue["state"] = state
        issue["state_reason"] = (
            (reason or "completed") if state == "closed" else ("reopened" if issue["state_reason"] else None)
        )
        issue["updated_at"] = _now_iso()

    def webhook(self, secret: str, number: int, action: str) -> tuple[bytes, dict[str, str]]:
        """An `issues` delivery as GitHub sends it, signed with the repository webhook's secret."""
        body = json.dumps(
            {
                "action": action,
                "issue": self.issues[number],
                "repository": {"full_name": self.repository},
                "sender": {"login": "octocat"},
            }
        ).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {
            "content-type": "application/json",
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
        }


# Jira Cloud ------------------------------------------------------------------------------------------

JIRA_STATUSES = {
    "10000": {"id": "10000", "name": "To Do", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}},
    "3": {
        "id": "3",
        "name": "In Progress",
        "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"},
    },
    "10001": {"id": "10001", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
}
JIRA_TRANSITIONS = [
    {"id": "11", "name": "To Do", "to": JIRA_STATUSES["10000"]},
    {"id": "21", "name": "In Progress", "to": JIRA_STATUSES["3"]},
    {"id": "31", "name": "Done", "to": JIRA_STATUSES["10001"]},
]
_JQL = re.compile(r'^project = "(?P<project>[^"]+)" AND labels = "(?P<label>[^"]+)"$')


class FakeJira(StandIn):
    """`/rest/api/3/issue` (create, get), `/rest/api/3/search/jql` (enhanced search, `nextPageToken`),
    `/rest/api/3/issue/{id}/transitions`. Basic auth with an email and an API token; 429 + Retry-After."""

    def __init__(self, email: str = "bot@acme.test", token: str = "jira-token", project: str = "OPS") -> None:
        super().__init__()
        self.email, self.token, self.project = email, token, project
        self.issues: dict[str, dict[str, Any]] = {}  # by id
        self.base_url = ""
        app = self.app

        @app.post("/rest/api/3/issue")
        async def create(request: Request) -> Response:
            if (denied := self._check(request)) is not None:
                return denied
            fields = (await request.json()).get("fields") or {}
            errors = {}
            if (fields.get("project") or {}).get("key") != self.project:
                errors["project"] = "Specify a valid project ID or key"
            if (fields.get("issuetype") or {}).get("name") not in ("Task", "Bug"):
                errors["issuetype"] = "Specify an issue type"
            if not fields.get("summary"):
                errors["summary"] = "You must specify a summary of the issue."
            description = fields.get("description")
            if description is not None and not (
                isinstance(description, dict)
                and description.get("type") == "doc"
                and description.get("version") == 1
            ):
                errors["description"] = (
                    "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                )
            labels = fields.get("labels") or []
            if any(" " in label for label in labels):
                errors["labels"] = "The label must not contain spaces."
            if errors:
                return JSONResponse({"errorMessages": [], "errors": errors}, status_code=400)
            issue = self.add_issue(fields["summary"], labels, description)
            return JSONResponse(
                {"id": issue["id"], "key": issue["key"], "self": issue["self"]}, status_code=201
            )

        @app.get("/rest/api/3/issue/{id_or_key}")
        async def get(id_or_key: str, request: Request) -> Response:
            if (denied := self._check(request)) is not None:
                return denied
            issue = self.find(id_or_key)
            if issue is None:
                return self._missing()
            return JSONResponse(issue)

        @app.post("/rest/api/3/search/jql")
        async def search(request: Request) -> Response:
            if (denied := self._check(request)) is not None:
                return denied
            body = await request.json()
            match = _JQL.match(body.get("jql", ""))
            if match is None:
                return JSONResponse(
                    {"errorMessages": ["Error in the JQL Query"], "errors": {}}, status_code=400
                )
            found = [
                i
                for i in self.issues.values()
                if i["key"].startswith(match["project"] + "-") and match["label"] in i["fields"]["labels"]
            ]
            start = int(body.get("nextPageToken") or 0)
            size = int(body.get("maxResults", 50))
            page = found[start : start + size]
            wanted = body.get("fields") or []
            answer: dict[str, Any] = {
                "issues": [
                    {"id": i["id"], "fields": {f: i["fields"][f] for f in wanted if f in i["fields"]}}
                    for i in page
                ],
                "isLast": start + size >= len(found),
            }
            if not answer["isLast"]:
                answer["nextPageToken"] = str(start + size)
            return JSONResponse(answer)

        @app.get("/rest/api/3/issue/{id_or_key}/transitions")
        async def transitions(id_or_key: str, request: Request) -> Response:
            if (denied := self._check(request)) is not None:
                return denied
            issue = self.find(id_or_key)
            if issue is None:
                return self._missing()
            current = issue["fields"]["status"]["id"]
            return JSONResponse({"transitions": [t for t in JIRA_TRANSITIONS if t["to"]["id"] != current]})

        @app.post("/rest/api/3/issue/{id_or_key}/transitions")
        async def transition(id_or_key: str, request: Request) -> Response:
            if (denied := self._check(request)) is not None:
                return denied
            issue = self.find(id_or_key)
            if issue is None:
                return self._missing()
            wanted = ((await request.json()).get("transition") or {}).get("id")
            chosen = next((t for t in JIRA_TRANSITIONS if t["id"] == wanted), None)
            if chosen is None or chosen["to"]["id"] == issue["fields"]["status"]["id"]:
                return JSONResponse(
                    {
                        "errorMessages": [
                            "It seems that you have tried to perform a workflow operation that is not valid."
                        ],
                        "errors": {},
                    },
                    status_code=400,
                )
            issue["fields"]["status"] = chosen["to"]
            return Response(status_code=204)

    def _check(self, request: Request) -> Response | None:
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Response(
                "Client must be authenticated to access this resource.",
                status_code=401,
                media_type="text/html",
            )
        return None

    def _missing(self) -> Response:
        return JSONResponse(
            {
                "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                "errors": {},
            },
            status_code=404,
        )

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "too_many":
            return JSONResponse(
                {"errorMessages": ["Rate limit exceeded."], "errors": {}},
                status_code=429,
                headers={
                    "Retry-After": str(fault.retry_after),
                    "X-RateLimit-Reason": "jira-quota-tenant-based",
                },
            )
        return JSONResponse({"errorMessages": ["Internal server error"], "errors": {}}, status_code=503)

    def add_issue(self, summary: str, labels: list[str], description: Any = None) -> dict[str, Any]:
        number = len(self.issues) + 1
        issue_id = str(10000 + number)
        issue = {
            "id": issue_id,
            "key": f"{self.project}-{number}",
            "self": f"{self.base_url}/rest/api/3/issue/{issue_id}",
            "fields": {
                "summary": summary,
                "labels": labels,
                "description": description,
                "status": JIRA_STATUSES["10000"],
                "project": {"key": self.project},
            },
        }
        self.issues[issue_id] = issue
        return issue

    def find(self, id_or_key: str) -> dict[str, Any] | None:
        return self.issues.get(id_or_key) or next(
            (i for i in self.issues.values() if i["key"] == id_or_key), None
        )

    def move(self, issue_id: str, status_id: str) -> None:
        self.issues[issue_id]["fields"]["status"] = JIRA_STATUSES[status_id]

    def webhook(self, secret: str, issue_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(
            {
                "timestamp": int(time.time() * 1000),
                "webhookEvent": "jira:issue_updated",
                "issue": self.issues[issue_id],
            }
        ).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"content-type": "application/json", "X-Hub-Signature": signature}


# Linear ------------------------------------------------------------------------------------------------

# The part of Linear's schema the client uses, with the same names and types as Linear's own
# (checked against linear/linear packages/sdk/src/schema.graphql): queries that do not validate here
# would not validate there.
LINEAR_SDL = """
type Query {
  issues(filter: IssueFilter, first: Int, includeArchived: Boolean): IssueConnection!
  issue(id: String!): Issue!
  team(id: String!): Team!
}
type Mutation {
  issueCreate(input: IssueCreateInput!): IssuePayload!
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
}
input IDComparator { eq: ID, neq: ID, in: [ID!], nin: [ID!] }
input NullableStringComparator { eq: String, contains: String, null: Boolean }
input TeamFilter { id: IDComparator }
input IssueFilter { team: TeamFilter, description: NullableStringComparator }
input IssueCreateInput { teamId: String!, title: String, description: String, priority: Int, labelIds: [String!], stateId: String }
input IssueUpdateInput { stateId: String, title: String, description: String }
type WorkflowState { id: ID!, name: String!, type: String!, position: Float! }
type WorkflowStateConnection { nodes: [WorkflowState!]! }
type Team { id: ID!, key: String!, states: WorkflowStateConnection! }
type Issue { id: ID!, identifier: String!, title: String!, description: String, priority: Float!, url: String!, state: WorkflowState! }
type IssueConnection { nodes: [Issue!]! }
type IssuePayload { success: Boolean!, issue: Issue, lastSyncId: Float! }
"""

LINEAR_STATES = [
    {"id": "st-backlog", "name": "Backlog", "type": "backlog", "position": 0.0},
    {"id": "st-todo", "name": "Todo", "type": "unstarted", "position": 1.0},
    {"id": "st-doing", "name": "In Progress", "type": "started", "position": 2.0},
    {"id": "st-done", "name": "Done", "type": "completed", "position": 3.0},
    {"id": "st-canceled", "name": "Canceled", "type": "canceled", "position": 4.0},
]


class _NotFound(Exception):
    pass


class FakeLinear(StandIn):
    """`POST /graphql`, executed by graphql-core against Linear's schema (the part used). API key in
    `Authorization`; `RATELIMITED` and `AUTHENTICATION_ERROR` answered as Linear answers them."""

    def __init__(self, token: str = "lin_api_test", team_id: str = "team-1", team_key: str = "ENG") -> None:
        super().__init__()
        self.token, self.team_id, self.team_key = token, team_id, team_key
        self.issues: dict[str, dict[str, Any]] = {}
        self.schema = build_schema(LINEAR_SDL)
        self.base_url = ""
        states = {s["id"]: s for s in LINEAR_STATES}

        def issues(
            _: Any,
            __: Any,
            filter: dict[str, Any] | None = None,
            first: int = 50,
            includeArchived: bool = False,
        ) -> Any:
            found = list(self.issues.values())
            team = ((filter or {}).get("team") or {}).get("id", {}).get("eq")
            if team is not None:
                found = [i for i in found if i["_team"] == team]
            contains = ((filter or {}).get("description") or {}).get("contains")
            if contains is not None:
                found = [i for i in found if contains in (i["description"] or "")]
            return {"nodes": found[:first]}

        def issue(_: Any, __: Any, id: str) -> Any:
            if id not in self.issues:
                raise _NotFound("Entity not found: Issue")
            return self.issues[id]

        def team(_: Any, __: Any, id: str) -> Any:
            if id != self.team_id:
                raise _NotFound("Entity not found: Team")
            return {"id": self.team_id, "key": self.team_key, "states": {"nodes": LINEAR_STATES}}

        def issue_create(_: Any, __: Any, input: dict[str, Any]) -> Any:
            if input["teamId"] != self.team_id:
                raise _NotFound("Entity not found: Team")
            created = self.add_issue(
                input.get("title") or "", input.get("description"), input.get("priority") or 0
            )
            return {"success": True, "issue": created, "lastSyncId": 1.0}

        def issue_update(_: Any, __: Any, id: str, input: dict[str, Any]) -> Any:
            if id not in self.issues:
                raise _NotFound("Entity not found: Issue")
            if "stateId" in input:
                self.issues[id]["state"] = states[input["stateId"]]
            return {"success": True, "issue": self.issues[id], "lastSyncId": 2.0}

        self.root = {
            "issues": issues,
            "issue": issue,
            "team": team,
            "issueCreate": issue_create,
            "issueUpdate": issue_update,
        }

        @self.app.post("/graphql")
        async def endpoint(request: Request) -> Response:
            if request.headers.get("authorization") != self.token:
                return JSONResponse(
                    {
                        "errors": [
                            {
                                "message": "Authentication required, not authenticated",
                                "extensions": {
                                    "type": "authentication error",
                                    "code": "AUTHENTICATION_ERROR",
                                    "statusCode": 401,
                                    "userPresentableMessage": "You need to authenticate to access this operation.",
                                },
                            }
                        ]
                    },
                    status_code=400,
                )
            body = await request.json()

            def resolve(root: Any, info: Any, **kwargs: Any) -> Any:
                return self.root[info.field_name](root, info, **kwargs)

            result = await graphql(
                self.schema,
                body["query"],
                root_value=None,
                variable_values=body.get("variables"),
                field_resolver=lambda source, info, **kw: (
                    resolve(source, info, **kw) if source is None else _field(source, info.field_name)
                ),
            )
            if result.errors:
                errors = [_linear_error(e) for e in result.errors]
                return JSONResponse(
                    {"data": None, "errors": errors}, status_code=400 if result.data is None else 200
                )
            return JSONResponse({"data": result.data})

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "ratelimited":
            reset_ms = int((time.time() + fault.retry_after) * 1000)
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Rate limit exceeded",
                            "extensions": {"code": "RATELIMITED", "type": "ratelimited"},
                        }
                    ]
                },
                status_code=400,
                headers={
                    "X-RateLimit-Requests-Limit": "1500",
                    "X-RateLimit-Requests-Remaining": "0",
                    "X-RateLimit-Requests-Reset": str(reset_ms),
                },
            )
        return JSONResponse(
            {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]},
            status_code=500,
        )

    def add_issue(self, title: str, description: str | None, priority: float = 0) -> dict[str, Any]:
        number = len(self.issues) + 1
        issue_id = str(uuid.uuid4())
        issue = {
            "id": issue_id,
            "identifier": f"{self.team_key}-{number}",
            "title": title,
            "description": description,
            "priority": float(priority),
            "url": f"https://linear.example/acme/issue/{self.team_key}-{number}",
            "state": LINEAR_STATES[1],
            "_team": self.team_id,
        }
        self.issues[issue_id] = issue
        return issue

    def move(self, issue_id: str, state_type: str) -> None:
        self.issues[issue_id]["state"] = next(s for s in LINEAR_STATES if s["type"] == state_type)

    def webhook(
        self, secret: str, issue_id: str, *, sent_ms: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        issue = self.issues[issue_id]
        data = {k: v for k, v in issue.items() if not k.startswith("_")} | {
            "teamId": issue["_team"],
            "stateId": issue["state"]["id"],
        }
        body = json.dumps(
            {
                "action": "update",
                "type": "Issue",
                "data": data,
                "url": issue["url"],
                "webhookTimestamp": sent_ms if sent_ms is not None else int(time.time() * 1000),
                "webhookId": str(uuid.uuid4()),
            }
        ).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {
            "content-type": "application/json",
            "Linear-Signature": signature,
            "Linear-Event": "Issue",
        }


def _field(source: Any, name: str) -> Any:
    return source.get(name) if isinstance(source, dict) else getattr(source, name, None)


def _linear_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, _NotFound):
        return {
            "message": str(original),
            "path": error.path,
            "extensions": {"code": "INVALID_INPUT", "type": "invalid input"},
        }
    return {
        "message": error.message,
        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED", "type": "graphql error"},
    }


# A JSON webhook receiver -------------------------------------------------------------------------------


@dataclass
class Delivery:
    event: str
    key: str
    body: dict[str, Any]
    signature_ok: bool


@dataclass
class WebhookReceiver(StandIn):
    """Checks `X-TaskTracker-Signature` over `<timestamp>.<body>`, keeps each `Idempotency-Key` once,
    answers `{"id", "url"}`."""

    secret: str = "receiver-secret-0123"
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()
        self.seen: dict[str, dict[str, Any]] = {}

        @self.app.post("/hooks/tasks")
        async def receive(request: Request) -> Response:
            raw = await request.body()
            timestamp = request.headers.get("x-tasktracker-timestamp", "")
            expected = (
                "sha256="
                + hmac.new(self.secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
            )
            ok = hmac.compare_digest(expected, request.headers.get("x-tasktracker-signature", ""))
            body = json.loads(raw)
            key = request.headers.get("idempotency-key", "")
            self.deliveries.append(Delivery(request.headers.get("x-tasktracker-event", ""), key, body, ok))
            if not ok:
                return JSONResponse({"error": "bad signature"}, status_code=403)
            if key not in self.seen:  # a repeat of a delivery is answered as the first one was
                ticket = f"T-{len(self.seen) + 1}"
                self.seen[key] = {"id": ticket, "url": f"https://hooks.example/tickets/{ticket}"}
            return JSONResponse(self.seen[key])

    def fault_response(self, fault: Fault) -> Response:
        return JSONResponse(
            {"error": "busy"}, status_code=503, headers={"Retry-After": str(fault.retry_after)}
        )
