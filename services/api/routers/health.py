from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from services.api.openapi import ok
from shared.migrate import head_difference

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(
        description="`database` and `migrations`: `ok`, or what is wrong; `shutdown`: "
        "`draining` once the process received SIGTERM."
    )


class Liveness(BaseModel):
    status: Literal["ok"]


@router.get(
    "/healthz", operation_id="health-live", response_model=Liveness, responses=ok("The process is up")
)
async def healthz() -> dict[str, str]:
    """Liveness: the process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="health-ready",
    response_model=Readiness,
    responses={
        **ok("Ready: the database answers and is migrated"),
        503: {
            "model": Readiness,
            "description": "Not ready (which check failed is in `checks`), or shutting down",
        },
    },
)
async def readyz(request: Request) -> Any:
    """Readiness: the database answers and its schema is at the migrations' head; false from SIGTERM on."""
    if request.app.state.draining:  # services/api/lifecycle.py: no new work for a process that is leaving
        return JSONResponse({"status": "not_ready", "checks": {"shutdown": "draining"}}, status_code=503)
    engine = request.app.state.engine
    checks: dict[str, Any] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["migrations"] = await head_difference(engine) or "ok"
    except Exception as exc:  # noqa: BLE001  (readiness reports any failure, it does not raise)
        checks["database"] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )
