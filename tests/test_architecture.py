"""Rules of the code's shape that a machine checks: no import cycles, one place that commits and sends."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[1] / "services" / "tasktracker"

# Committing, rolling back, publishing events and sending jobs happen only in the unit of work and
# the job runner (and, below them, in the bus and broker that implement publishing and sending).
SIDE_EFFECT_CALLS = {"commit", "rollback", "publish", "enqueue", "kiq", "send_classification_jobs"}
ALLOWED = {
    "unit_of_work.py",  # commits each unit once, then publishes and enqueues what it queued
    "worker/runner.py",  # the sweep re-sends lost jobs
    "events/bus.py",  # the bus's own transport
    "broker.py",  # the broker's own transport
    "migrations/env.py",  # Alembic's own transaction
}


def import_cycles(package: str = "tasktracker") -> list[list[str]]:
    """Every set of modules that import one another (strongly connected components, Tarjan),
    counting imports made inside functions and under TYPE_CHECKING: they are dependencies too."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges.get(module, []):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    return cycles


def stray_side_effects(root: Path = PACKAGE) -> list[str]:
    """`file:line call` for every commit/rollback/publish/enqueue call outside the allowed modules."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in ALLOWED or relative.startswith("migrations/versions/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in SIDE_EFFECT_CALLS:
                found.append(f"{relative}:{node.lineno} {name}()")
    return found


def test_no_import_cycles() -> None:
    assert import_cycles() == []


def test_only_the_unit_of_work_and_the_job_runner_commit_or_send() -> None:
    assert stray_side_effects() == []


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The scan sees a stray commit and a stray publish (and nothing in the allowed modules)."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "service.py").write_text(
        "async def f(session, bus):\n    await session.commit()\n    await bus.publish(1)\n"
    )
    (tmp_path / "unit_of_work.py").write_text("async def g(session):\n    await session.commit()\n")
    assert stray_side_effects(tmp_path) == ["tasks/service.py:2 commit()", "tasks/service.py:3 publish()"]


def test_every_request_dependency_is_async(tmp_path: Path) -> None:
    """A plain `def` dependency runs in the thread pool: a thread hop on every request that uses it
    (it was ~20% of the ingest CPU, issue 13). Routes' dependencies are all `async def`."""
    import inspect

    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute, APIWebSocketRoute

    from tasktracker.api.app import create_app
    from tasktracker.config import load_settings

    app = create_app(load_settings(environment="test", data_dir=tmp_path, auth="off"))
    sync: set[str] = set()

    def runs_in_thread_pool(call: object) -> bool:
        target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
        return not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target))

    def walk(dependant: Dependant) -> None:
        for sub in dependant.dependencies:
            if sub.call is not None and not isinstance(sub.call, type) and runs_in_thread_pool(sub.call):
                sync.add(f"{sub.call.__module__}.{getattr(sub.call, '__qualname__', sub.call)}")
            walk(sub)

    routes = [r for r in app.routes if isinstance(r, (APIRoute, APIWebSocketRoute))]
    assert routes
    for route in routes:
        walk(route.dependant)
    assert not sync, f"plain `def` dependencies (make them `async def`): {sorted(sync)}"
