from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared.migrate import current_revisions, head_revisions

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-live")
async def healthz() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="health-ready", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> Any:
    """Readiness: the database answers and its schema is at the migrations' head."""
    engine = request.app.state.engine
    checks: dict[str, Any] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = await current_revisions(engine)
        heads = head_revisions()
        checks["migrations"] = "ok" if current == heads else f"at {sorted(current)}, head is {sorted(heads)}"
    except Exception as exc:  # readiness reports, it does not raise
        checks["database"] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                          status_code=200 if ready else 503)
