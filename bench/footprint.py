"""Footprint: resident memory of idle `tasktracker api` and `tasktracker worker` processes, their growth
over a soak at 200 msg/s, and how long `tasktracker run` takes to be ready on a warm data dir.

Baselines: the smallest FastAPI app under uvicorn (`bench/bare_app.py`), its RSS and its start to a
first 200. The soak length is `--soak-s` (the issue asks 600 s; the default is short).
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import ROOT, Options, SuiteResult, data_dir, figure, rss_mb, run_load, source_env, stack
from tests.support.services import free_port

GROWTH_TARGET_MB = 10.0


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> float:
    started = time.perf_counter()
    with httpx.Client(timeout=1) as client:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"{url} not ready within {timeout} s")


def _start(args: list[str], env: dict[str, str], url: str) -> tuple[float, subprocess.Popen[bytes]]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_ready(url, proc)
    return time.perf_counter() - started, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def warm_start() -> dict[str, float]:
    """`tasktracker run` on a data dir a first start has migrated and cached the model in."""
    tmp = Path(tempfile.mkdtemp(prefix="tt-bench-run-"))
    try:
        if (data_dir() / "models").is_dir():  # the soak's model (none when called on its own: trained)
            shutil.copytree(data_dir() / "models", tmp / "models", dirs_exist_ok=True)
        port = free_port()
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "TASKTRACKER_DATA_DIR": str(tmp),
            "PORT": str(port),
            "TASKTRACKER_CLASSIFIER": "builtin",
            "TASKTRACKER_LOG_LEVEL": "warning",
            "HOME": str(tmp),
            **source_env(),  # --source: that checkout's `tasktracker run` (it ran this one's before)
        }
        tasktracker = str(Path(sys.executable).parent / "tasktracker")
        url = f"http://127.0.0.1:{port}/api/health/ready"
        cold, proc = _start([tasktracker, "run"], env, url)
        _stop(proc)
        warm, proc = _start([tasktracker, "run"], env, url)
        rss_all = rss_mb(proc.pid)
        warm_cpu = _cpu_s(proc.pid)
        _stop(proc)
        bare, proc = _start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env,
            url,
        )
        time.sleep(0.5)
        bare_rss = rss_mb(proc.pid)
        _stop(proc)
        return {
            "cold_s": cold,
            "warm_s": warm,
            # its CPU until ready (and one more poll): on a shared machine steadier than the wall time
            "warm_cpu_s": warm_cpu,
            "bare_s": bare,
            "bare_rss_mb": bare_rss,
            "run_rss_mb": rss_all,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def soak(options: Options) -> dict[str, Any]:
    duration = options.soak_s if not options.quick else 3.0
    async with stack(apis=1, workers=1, token=options.token) as topology:
        api, worker = topology.apis[0].pid, topology.workers[0].pid
        await asyncio.sleep(2.0)
        idle = {"api": rss_mb(api), "worker": rss_mb(worker)}
        samples: list[tuple[float, float, float]] = []
        load_args = topology.load_args("paced", concurrency=8, rate=200, duration=duration)
        loop = asyncio.get_running_loop()
        # the load runs for `duration`: give it a margin to finish and report (a timeout of exactly
        # `duration` killed a 600 s soak at its end)
        load = loop.run_in_executor(None, functools.partial(run_load, load_args, timeout=duration + 120))
        started = time.perf_counter()
        while not load.done():
            samples.append((time.perf_counter() - started, rss_mb(api), rss_mb(worker)))
            await asyncio.wait([load], timeout=max(0.5, duration / 60))
        result = load.result()
        result.pop("sent_at", None)
    # Growth: from the end of the first tenth (caches and pools warm) to the end.
    warm = [s for s in samples if s[0] >= duration / 10] or samples
    return {
        "idle_mb": idle,
        "samples": samples,
        "duration_s": duration,
        "growth_mb": {"api": warm[-1][1] - warm[0][1], "worker": warm[-1][2] - warm[0][2]},
        "load": result,
    }


def run(options: Options) -> SuiteResult:
    soaked = asyncio.run(soak(options))
    start = warm_start()
    idle, growth = soaked["idle_mb"], soaked["growth_mb"]
    bare = start["bare_rss_mb"]
    minutes = soaked["duration_s"] / 60
    return SuiteResult(
        figures=[
            figure(
                "RSS idle: api",
                idle["api"],
                "MB",
                baseline=bare,
                baseline_name="bare FastAPI app",
                target=150,
                better="lower",
            ),
            figure(
                "RSS idle: worker",
                idle["worker"],
                "MB",
                baseline=bare,
                baseline_name="bare FastAPI app",
                target=250,
                better="lower",
            ),
            figure(
                f"RSS growth over {minutes:.1f} min at 200/s: api",
                growth["api"],
                "MB",
                target=GROWTH_TARGET_MB,
                better="lower",
            ),
            figure(
                f"RSS growth over {minutes:.1f} min at 200/s: worker",
                growth["worker"],
                "MB",
                target=GROWTH_TARGET_MB,
                better="lower",
            ),
            figure(
                "`tasktracker run` warm start to ready",
                start["warm_s"],
                "s",
                baseline=start["bare_s"],
                baseline_name="bare FastAPI app start",
                target=3,
                better="lower",
            ),
        ],
        series={**soaked, "start": start},
    )


def plot(result: SuiteResult, out_dir: Any) -> list[Any]:
    import matplotlib.pyplot as plt

    samples = result["series"]["samples"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([s[0] for s in samples], [s[1] for s in samples], label="api")
    ax.plot([s[0] for s in samples], [s[2] for s in samples], label="worker")
    ax.axhline(150, color="C0", linestyle=":", label="api target 150 MB")
    ax.axhline(250, color="C1", linestyle=":", label="worker target 250 MB")
    ax.set_xlabel("s into the soak at 200 msg/s")
    ax.set_ylabel("RSS, MB")
    ax.set_ylim(bottom=0)
    ax.set_title("Resident memory under a steady load")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "footprint.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
