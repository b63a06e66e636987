"""GET /metrics: Prometheus' text format, for admin keys (services/api/metrics.py says what is in it)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.deps import Admin
from services.api.errors import problem_responses
from shared.metrics import CONTENT_TYPE, render

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics in Prometheus' text exposition format",
            "content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403),
    },
)
async def metrics(request: Request, _: Admin) -> Response:
    """Prometheus metrics: requests, database pool, commitments per status, TK sync lag (admin)."""
    await request.app.state.database_figures.refresh()
    return Response(render(request.app.state.metrics_registry), media_type=CONTENT_TYPE)
