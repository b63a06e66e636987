"""The plain CRUD resources: parties, sources, themes, recommendations, actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.api.crud import register_crud
from shared.actions.schemas import ActionCreate, ActionFilters, ActionOut, ActionUpdate
from shared.actions.service import ActionService
from shared.auth.ownership import ensure_party_change_allowed
from shared.parties.schemas import PartyCreate, PartyFilters, PartyOut, PartyUpdate
from shared.parties.service import PartyService
from shared.recommendations.schemas import (
    RecommendationCreate,
    RecommendationFilters,
    RecommendationOut,
    RecommendationUpdate,
)
from shared.recommendations.service import RecommendationService
from shared.sources.schemas import SourceCreate, SourceFilters, SourceOut, SourceUpdate
from shared.sources.service import SourceService

parties = APIRouter(prefix="/v1/parties", tags=["parties"])


async def _party_codes(principal: Any, db: Any, changes: dict[str, Any], current: dict[str, Any]) -> None:
    ensure_party_change_allowed(principal, changes, current)


parties_reads = register_crud(
    parties,
    name="parties",
    singular="party",
    service=PartyService,
    create_model=PartyCreate,
    update_model=PartyUpdate,
    out_model=PartyOut,
    filters_model=PartyFilters,
    check_write=_party_codes,
)

sources = APIRouter(prefix="/v1/sources", tags=["sources"])
sources_reads = register_crud(
    sources,
    name="sources",
    singular="source",
    service=SourceService,
    create_model=SourceCreate,
    update_model=SourceUpdate,
    out_model=SourceOut,
    filters_model=SourceFilters,
)

recommendations = APIRouter(prefix="/v1/recommendations", tags=["recommendations"])
recommendations_reads = register_crud(
    recommendations,
    name="recommendations",
    singular="recommendation",
    service=RecommendationService,
    create_model=RecommendationCreate,
    update_model=RecommendationUpdate,
    out_model=RecommendationOut,
    filters_model=RecommendationFilters,
)

actions = APIRouter(prefix="/v1/actions", tags=["actions"])
actions_reads = register_crud(
    actions,
    name="actions",
    singular="action",
    service=ActionService,
    create_model=ActionCreate,
    update_model=ActionUpdate,
    out_model=ActionOut,
    filters_model=ActionFilters,
)
