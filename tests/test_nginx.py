"""The production Nginx config in front of the real API: dashboard files, /api proxy, /ws upgrade."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import websockets

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, serve
from tests.support.services import free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "services" / "dashboard" / "dist"
CONF = ROOT / "services" / "nginx" / "nginx.conf"
JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture
def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.fail("nginx is not installed; `make test` installs it (.ci/ensure-tools.sh)")
    if not (DIST / "index.html").is_file():
        pytest.fail("the dashboard is not built; `make test` builds it first")
    return binary


def render(tmp: Path, api_port: int, port: int, max_body_bytes: int) -> Path:
    env = {"API_UPSTREAM": f"127.0.0.1:{api_port}", "TASKTRACKER_MAX_BODY_BYTES": str(max_body_bytes)}
    template = CONF.read_text()
    unknown = set(re.findall(r"\$\{(\w+)\}", template)) - env.keys()
    assert not unknown, f"nginx.conf uses variables the image and the chart do not set: {unknown}"
    server = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], template)  # what the image's envsubst does
    server = server.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    server = server.replace("root /usr/share/nginx/html;", f"root {DIST};")
    temp = {name: tmp / name for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = "user root root;" if os.geteuid() == 0 else ""
    main = f"""
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp["client"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    {server}
}}
"""
    path = tmp / "nginx.conf"
    path.write_text(main)
    return path


async def test_nginx_serves_dashboard_and_proxies_api_and_ws(nginx_binary, make_settings, tmp_path) -> None:
    settings = make_settings(max_body_bytes=3 * 1024 * 1024)
    app = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    api_port, port = free_port(), free_port()
    conf = render(tmp_path, api_port, port, settings.max_body_bytes)
    check = subprocess.run([nginx_binary, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    async with serve(app, port=api_port):
        proc = subprocess.Popen([nginx_binary, "-c", str(conf)], stderr=subprocess.PIPE)
        try:
            await asyncio.to_thread(wait_port, "127.0.0.1", port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                index = await client.get("/")
                assert index.status_code == 200 and "<div id=" in index.text
                deep = await client.get("/board?category=bug")  # a dashboard route: index.html
                assert deep.status_code == 200 and deep.text == index.text
                health = await client.get("/api/health")
                assert health.json() == {"status": "ok"}
                config = (await client.get("/api/config")).json()
                assert config["ws_url"] == f"ws://127.0.0.1:{port}/ws"  # derived through the proxy
                posted = await client.post(
                    "/api/messages", json={"content": "bug: via nginx", "external_id": "n1"}
                )
                assert posted.status_code == 202
                assert (await client.get("/healthz")).text == "ok\n"  # the dashboard's own probe
                # the body limit is the API's setting, not Nginx's own: a body over Nginx's old 2 MiB
                # but within the setting reaches the API (which finds it is no JSON); one over it is 413
                within = await client.post(
                    "/api/messages/batch",
                    content=b"x" * (settings.max_body_bytes - 1024),
                    headers={"content-type": "application/json"},
                )
                assert within.status_code == 422, within.text[:200]
                too_big = await client.post(
                    "/api/messages/batch",
                    content=b"x" * (settings.max_body_bytes + 1),
                    headers={"content-type": "application/json"},
                )
                assert too_big.status_code == 413
                # A batch of long messages over Nginx's old 2 MiB that the API accepts passes the proxy too.
                batch = [
                    {"content": f"task: item {i} " + "x" * 15_000, "external_id": f"b{i}"} for i in range(150)
                ]
                big = await client.post("/api/messages/batch", json=batch, timeout=60)
                assert big.status_code == 202 and big.json()["created"] == 150, big.text[:200]
                # Over the one limit: the API's JSON answer, whether Nginx or the API refuses it.
                huge = await client.post(
                    "/api/messages", content=b"x" * (settings.max_body_bytes + 1), headers=JSON_TYPE
                )
                assert huge.status_code == 413 and huge.json()["code"] == "content_too_large", huge.text
                hook = await client.post(
                    "/webhook/slack", content=b"x" * (settings.max_body_bytes + 1), headers=JSON_TYPE
                )
                assert hook.status_code == 413 and hook.json()["code"] == "content_too_large", hook.text
            async with websockets.connect(config["ws_url"]) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
        finally:
            proc.terminate()
            proc.wait(10)
