from __future__ import annotations

from fastapi import APIRouter

from services.api.crud import register_crud
from shared.commitments.schemas import CommitmentCreate, CommitmentFilters, CommitmentOut, CommitmentUpdate
from shared.commitments.service import CommitmentService

router = APIRouter(prefix="/v1/commitments", tags=["commitments"])
register_crud(router, name="commitments", singular="commitment", service=CommitmentService,
              create_model=CommitmentCreate, update_model=CommitmentUpdate, out_model=CommitmentOut,
              filters_model=CommitmentFilters, to_out=CommitmentOut.from_model)
