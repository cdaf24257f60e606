from __future__ import annotations

import pytest

from tests.deploy.render import MATRIX, Rendered, helm_binary, render


@pytest.fixture(scope="session")
def helm_path() -> str:
    try:
        return helm_binary()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def renders(helm_path: str) -> dict[str, Rendered]:
    """Every values file of the matrix, rendered once per session."""
    return {name: render(name) for name in MATRIX}
