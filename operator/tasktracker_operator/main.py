"""kopf wiring only: which events call which handler, and the operator's startup settings.

Run it with `kopf run -m tasktracker_operator.main --all-namespaces` (the image's command).
"""

from __future__ import annotations

from typing import Any

import kopf

from tasktracker_operator import crd
from tasktracker_operator.config import OperatorConfig
from tasktracker_operator.handlers import delete, reconcile
from tasktracker_operator.kube import Kube

CONFIG = OperatorConfig.from_env()
RESOURCE = (crd.GROUP, crd.VERSION, crd.PLURAL)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{crd.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=crd.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=crd.GROUP)
    settings.watching.server_timeout = 300
    memo["kube"] = Kube()
    memo["config"] = CONFIG


@kopf.on.login()
async def login(memo: kopf.Memo, **kwargs: Any) -> kopf.ConnectionInfo | None:
    info = kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)
    if info is not None:
        await memo["kube"].use(info)
    return info


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    await memo["kube"].close()


@kopf.on.resume(*RESOURCE)
@kopf.on.create(*RESOURCE)
@kopf.on.update(*RESOURCE)
async def reconcile_on_change(
    body: kopf.Body, patch: kopf.Patch, logger: Any, memo: kopf.Memo, **_: Any
) -> None:
    await reconcile.reconcile_one_at_a_time(memo, body, patch, logger)


@kopf.timer(*RESOURCE, interval=CONFIG.recheck_interval_s, initial_delay=CONFIG.recheck_interval_s)
async def recheck(body: kopf.Body, patch: kopf.Patch, logger: Any, memo: kopf.Memo, **_: Any) -> None:
    if body.metadata.get("deletionTimestamp"):
        return
    await reconcile.reconcile_one_at_a_time(memo, body, patch, logger)


@kopf.on.delete(*RESOURCE)
async def clean_up(
    spec: kopf.Spec, name: str, namespace: str | None, logger: Any, memo: kopf.Memo, **_: Any
) -> None:
    await delete.on_delete(memo["kube"], spec, name, namespace or "default", logger)
