"""A small asynchronous Kubernetes API client for the children (kopf watches only the TaskTracker).

It speaks plain REST with the credentials kopf logged in with: get, create, JSON merge patch,
delete, list by label, and API discovery. Errors become `ApiError` with the server's status code.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Mapping
from typing import Any

import aiohttp
import kopf

Obj = dict[str, Any]

# kind -> plural; the API group and version come from the object's apiVersion.
PLURALS = {
    "Secret": "secrets",
    "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "ConfigMap": "configmaps",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "Ingress": "ingresses",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "ScaledObject": "scaledobjects",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class NotConnectedError(RuntimeError):
    pass


def resource_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    path = f"{prefix}/namespaces/{namespace}/{PLURALS[kind]}"
    return f"{path}/{name}" if name else path


class Kube:
    """One shared HTTP session; `use()` swaps in fresh credentials whenever kopf logs in again."""

    def __init__(self) -> None:
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None

    async def use(self, info: kopf.ConnectionInfo) -> None:
        await self.close()
        self._info = info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _make_session(self) -> aiohttp.ClientSession:
        info = self._info
        if info is None:
            raise NotConnectedError("the operator has not logged in to the Kubernetes API yet")
        headers = {"Accept": "application/json"}
        if info.token:
            headers["Authorization"] = f"{info.scheme or 'Bearer'} {info.token}"
        context: ssl.SSLContext | bool = True
        if info.server.startswith("https"):
            if info.insecure:
                context = False
            else:
                ca_data = _pem(info.ca_data).decode() if info.ca_data else None
                context = ssl.create_default_context(cafile=info.ca_path or None, cadata=ca_data)
                cert = info.certificate_path or _to_file(info.certificate_data)
                key = info.private_key_path or _to_file(info.private_key_data)
                if cert and key:
                    context.load_cert_chain(os.fsdecode(cert), os.fsdecode(key))
        auth = aiohttp.BasicAuth(info.username, info.password or "") if info.username else None
        return aiohttp.ClientSession(
            base_url=info.server.rstrip("/") + "/",
            headers=headers,
            auth=auth,
            connector=aiohttp.TCPConnector(ssl=context),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._session is None:
            self._session = self._make_session()
        async with self._session.request(method, path.lstrip("/"), **kwargs) as response:
            if response.status >= 400:
                text = await response.text()
                try:
                    message = (await response.json(content_type=None)).get("message", text)
                except ValueError:
                    message = text
                raise ApiError(response.status, str(message)[:500])
            return await response.json(content_type=None)

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            result: Obj = await self._request("GET", resource_path(api_version, kind, namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def create(self, obj: Mapping[str, Any]) -> Obj:
        meta = obj["metadata"]
        path = resource_path(obj["apiVersion"], obj["kind"], meta["namespace"])
        result: Obj = await self._request("POST", path, json=obj)
        return result

    async def merge_patch(self, api_version: str, kind: str, namespace: str, name: str, patch: Obj) -> Obj:
        path = resource_path(api_version, kind, namespace, name)
        headers = {"Content-Type": "application/merge-patch+json"}
        result: Obj = await self._request("PATCH", path, json=patch, headers=headers)
        return result

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete (children in the background); False when it was already gone."""
        path = resource_path(api_version, kind, namespace, name)
        try:
            await self._request("DELETE", path, json={"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def list(
        self, api_version: str, kind: str, namespace: str, selector: Mapping[str, str]
    ) -> list[Obj]:
        label_selector = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        path = resource_path(api_version, kind, namespace)
        result = await self._request("GET", path, params={"labelSelector": label_selector})
        items: list[Obj] = result.get("items", [])
        # Not every server filters (the emulator in the tests does not): filter here as well.
        return [item for item in items if _matches(item, selector)]

    async def serves(self, group_version: str, plural: str) -> bool:
        """Whether the API server knows the resource, e.g. ("keda.sh/v1alpha1", "scaledobjects")."""
        try:
            result = await self._request("GET", f"/apis/{group_version}")
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return any(resource.get("name") == plural for resource in result.get("resources", []))


def _pem(data: str | bytes) -> bytes:
    """Kubeconfig *-data fields are base64 of PEM; kopf may hand over either form."""
    raw = data.encode() if isinstance(data, str) else data
    return raw if raw.lstrip().startswith(b"-----") else base64.b64decode(raw)


def _to_file(data: str | bytes | None) -> str | None:
    if not data:
        return None
    with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
        handle.write(_pem(data))
    return handle.name


def _matches(obj: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    obj_labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(obj_labels.get(key) == value for key, value in selector.items())
