"""`GET /api/stats` at 100k and 1M rows: measured in the same run as the `queries` suite (bench/queries.py),
against the HTTP floor of the same API process (`GET /api/health`)."""

from __future__ import annotations

from typing import Any

from bench.queries import measured_for, stats_figures


def run(options: Any) -> dict[str, Any]:
    measured = measured_for(options)
    return {
        "figures": stats_figures(measured),
        "series": {
            "by_size": [
                {"size": entry["size"], "stats": entry["stats"], "http_floor_p50": entry["http_floor_p50"]}
                for entry in measured["by_size"]
            ]
        },
    }
