"""ASGI entry points for servers that import an app factory (`uvicorn --factory`), e.g. `make services-dev`."""

from fastapi import FastAPI

from tasktracker.api.app import create_app
from tasktracker.runtime import Role


def api_app() -> FastAPI:
    return create_app(role=Role.api)


def embedded_app() -> FastAPI:
    return create_app(role=Role.all, migrate=True)
