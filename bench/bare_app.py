"""The footprint baseline: the smallest FastAPI app under uvicorn (`uvicorn bench.bare_app:app`)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/api/health/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}
