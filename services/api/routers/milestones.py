from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from services.api.crud import ResourceReads, id_param, register_crud
from services.api.deps import ReadDb, Reader, WriteDb, Writer, actor_of
from services.api.errors import problem_responses
from services.api.openapi import ok
from shared.audit.service import jsonable, record
from shared.auth.ownership import ensure_may_write
from shared.errors import NotFound
from shared.milestones.schemas import (
    MeasurementCreate,
    MeasurementOut,
    MilestoneCreate,
    MilestoneFilters,
    MilestoneOut,
    MilestoneUpdate,
)
from shared.milestones.service import MeasurementService, MilestoneService, owning_commitment_id

router = APIRouter(prefix="/v1/milestones", tags=["milestones"])
MilestoneId = Annotated[uuid.UUID, id_param("milestone")]
MeasurementId = Annotated[uuid.UUID, id_param("measurement")]


class MilestoneReads(ResourceReads):
    async def list(self, db: Any, params: Any) -> dict[str, Any]:
        """One page, each milestone with its measurements read as plain rows (MilestoneRepository)."""
        svc = MilestoneService(db)
        rows, measurements, cursor = await svc.repo.list_with_measurements(  # type: ignore[attr-defined]
            svc.conditions(params), sort=params.sort, cursor=params.cursor, limit=params.limit
        )
        items = [MilestoneOut.from_model(row, measurements[row.id]) for row in rows]
        return {"items": items, "next_cursor": cursor}


reads = register_crud(
    router,
    name="milestones",
    singular="milestone",
    service=MilestoneService,
    create_model=MilestoneCreate,
    update_model=MilestoneUpdate,
    out_model=MilestoneOut,
    filters_model=MilestoneFilters,
    to_out=MilestoneOut.from_model,
    reads_class=MilestoneReads,
)


@router.post(
    "/{id}/measurements",
    operation_id="measurements-create",
    response_model=MeasurementOut,
    status_code=201,
    tags=["milestones"],
    responses={
        **ok("The measurement, recorded", "Location", status=201),
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def create_measurement(
    id: MilestoneId,
    body: MeasurementCreate,
    db: WriteDb,
    principal: Writer,
    request: Request,
    response: Response,
) -> Any:
    """Record a measurement of the milestone's indicator; one per date (409 on a second one)."""
    milestone = await MilestoneService(db).get(id)
    await ensure_may_write(principal, db, "measurements", "measurement", {"milestone_id": milestone.id})
    actor = actor_of(request, principal)
    measurement = await MeasurementService(db).record(milestone, body.model_dump(), actor)
    await record(
        db,
        actor,
        "measurements.create",
        "measurements",
        [measurement.id],
        detail={"milestone_id": str(id), "new": body.model_dump(mode="json")},
        commitment_id=await owning_commitment_id(db, milestone),
    )
    response.headers["Location"] = f"{request.url.path}/{measurement.id}"
    return measurement


@router.delete(
    "/{id}/measurements/{measurement_id}",
    operation_id="measurements-delete",
    status_code=204,
    response_class=Response,
    responses={**ok("Deleted", status=204), **problem_responses(401, 403, 404)},
)
async def delete_measurement(
    id: MilestoneId, measurement_id: MeasurementId, db: WriteDb, principal: Writer, request: Request
) -> Response:
    """Delete a wrong measurement (record the corrected one with a new POST)."""
    svc = MeasurementService(db)
    measurement = await svc.get(measurement_id)
    if measurement.milestone_id != id:
        raise NotFound(f"Milestone {id} has no measurement {measurement_id}.")
    await ensure_may_write(principal, db, "measurements", "measurement", {"milestone_id": id})
    old = {"date": jsonable(measurement.date), "value": measurement.value}
    milestone = await MilestoneService(db).get(id)
    await svc.remove(milestone, measurement)
    await record(
        db,
        actor_of(request, principal),
        "measurements.delete",
        "measurements",
        [measurement_id],
        detail={"milestone_id": str(id), "old": old},
        commitment_id=await owning_commitment_id(db, milestone),
    )
    return Response(status_code=204)


@router.get(
    "/{id}/measurements/{measurement_id}",
    operation_id="measurements-get",
    response_model=MeasurementOut,
    tags=["milestones"],
    responses={**ok("The measurement"), **problem_responses(401, 403, 404, 422)},
)
async def get_measurement(id: MilestoneId, measurement_id: MeasurementId, db: ReadDb, _: Reader) -> Any:
    """One measurement of the milestone's indicator (status reasons link here as evidence)."""
    measurement = await MeasurementService(db).get(measurement_id)
    if measurement.milestone_id != id:
        raise NotFound(f"Milestone {id} has no measurement {measurement_id}.")
    return measurement
