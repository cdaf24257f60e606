"""`make bench` = `python -m bench [SUITE ...]`: run the suites, print every figure against its
baseline and target, write `bench/results/<date>.json` and draw `docs/benchmarks/*.png` from it.

Suites (one module each under bench/): ingest, worker, e2e, scaleout, fanout, footprint (perf-ingest),
queries, stats (perf-queries), embedded (the single-process mode). `python -m bench ingest` runs one.
`--quick` runs each with a few hundred requests (the smoke test); `--soak-s` sets the footprint soak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Options, SuiteResult, finish_data_dir, use_source

SUITES = ("ingest", "worker", "e2e", "scaleout", "fanout", "footprint", "queries", "stats", "embedded")
DEFAULT = ("ingest", "worker", "e2e", "scaleout", "fanout", "footprint", "queries", "stats")


def available(name: str) -> bool:
    return (Path(__file__).parent / f"{name}.py").is_file()


def print_figures(suite: str, result: SuiteResult) -> None:
    for f in result["figures"]:
        ratio = f"{f['ratio']:.3f}" if f["ratio"] is not None else "-"
        base = f"{f['baseline']:,.1f}" if f["baseline"] is not None else "-"
        met = {True: "met", False: "MISSED", None: ""}[f["met"]]
        print(
            f"{suite:9} {f['name']:38} {f['value']:>11,.1f} {f['unit']:6} {base:>11} {ratio:>8}"
            f"  {f['target'] or '':>16} {met}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "suites", nargs="*", metavar="SUITE", help=f"any of: {', '.join(SUITES)} (default: all but embedded)"
    )
    parser.add_argument("--quick", action="store_true", help="a few hundred requests per suite (smoke run)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per ingest level")
    parser.add_argument("--soak-s", type=float, default=60.0, help="footprint soak at 200 msg/s (issue: 600)")
    parser.add_argument(
        "--token",
        default=os.environ.get("BENCH_TOKEN"),
        help="Bearer token for the API (auth on); default $BENCH_TOKEN",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (default bench/results/<date>.json)"
    )
    parser.add_argument("--plots", type=Path, default=ROOT / "docs" / "benchmarks", help="where the PNGs go")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="results of the code before (run with --source): changes.png",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="run the api/worker processes from another checkout's services/ (before/after)",
    )
    args = parser.parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    names = [s for s in (args.suites or DEFAULT) if available(s)]
    use_source(args.source)
    options = Options(quick=args.quick, soak_s=args.soak_s, requests=args.requests, token=args.token)
    out = args.out or ROOT / "bench" / "results" / f"{dt.date.today().isoformat()}.json"
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "options": {"quick": args.quick, "requests": args.requests, "soak_s": args.soak_s},
        "suites": {},
    }
    if out.is_file():  # running one suite keeps the others' figures of the same day
        results["suites"] = json.loads(out.read_text()).get("suites", {})
    print(f"{'suite':9} {'figure':38} {'value':>11} {'unit':6} {'baseline':>11} {'ratio':>8}  {'target':>16}")
    failed = []
    for name in names:
        started = time.perf_counter()
        try:
            result: SuiteResult = importlib.import_module(f"bench.{name}").run(options)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        result["seconds"] = round(time.perf_counter() - started, 1)  # type: ignore[typeddict-unknown-key]
        results["suites"][name] = result
        print_figures(name, result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"results written to {out}", file=sys.stderr)
    if not args.no_plots:
        from bench.plots import draw

        for path in draw(results, args.plots):
            print(f"plot written to {path}", file=sys.stderr)
        if args.before is not None:
            from bench.plots import draw_comparison

            changes = draw_comparison(json.loads(args.before.read_text()), results, args.plots)
            print(f"plot written to {changes}", file=sys.stderr)
    kept = finish_data_dir(keep=bool(failed))
    if failed:
        print(f"suites that failed: {', '.join(failed)}", file=sys.stderr)
        if kept is not None:
            print(f"the processes' logs are kept in {kept}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
