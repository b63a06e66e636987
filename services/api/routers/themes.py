from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from services.api.deps import Admin, ReadDb, Reader, WriteDb, actor_of
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.service import changed, record
from shared.auth.ownership import values_of
from shared.pagination import page_of
from shared.schemas import ListParams
from shared.themes.repository import ThemeRepository
from shared.themes.schemas import ThemeCreate, ThemeOut, ThemeUpdate
from shared.themes.service import ThemeService

router = APIRouter(prefix="/v1/themes", tags=["themes"])
ThemePath = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60, description="The theme's key.")
]


@router.get(
    "",
    operation_id="themes-list",
    response_model=page_of(ThemeOut),
    responses={**ok("One page of themes"), **problem_responses(400, 422)},
)
async def list_themes(
    db: ReadDb,
    _: Reader,
    params: Annotated[ListParams, Depends(QueryModel(ListParams, ThemeRepository.sorting))],
) -> Any:
    """The controlled list of themes used by commitments, recommendations and client signals."""
    return await themes_page(db, params)


async def themes_page(db: Any, params: ListParams) -> dict[str, Any]:
    """The list's read (also the status board's)."""
    rows, cursor = await ThemeService(db).repo.list(
        [], sort=params.sort, cursor=params.cursor, limit=params.limit
    )
    return {"items": [ThemeOut.model_validate(row) for row in rows], "next_cursor": cursor}


@router.get(
    "/{key}",
    operation_id="themes-get",
    response_model=ThemeOut,
    responses={**ok("The theme"), **problem_responses(404, 422)},
)
async def get_theme(key: ThemePath, db: ReadDb, _: Reader) -> Any:
    """One theme by key."""
    return await ThemeService(db).get(key)


@router.post(
    "",
    operation_id="themes-create",
    response_model=ThemeOut,
    status_code=201,
    responses={**ok("The theme, created", "Location", status=201), **problem_responses(401, 403, 409, 422)},
)
async def create_theme(
    body: ThemeCreate, db: WriteDb, principal: Admin, request: Request, response: Response
) -> Any:
    """Add a theme to the controlled list (admin)."""
    theme = await ThemeService(db).create(body.model_dump())
    await record(
        db,
        actor_of(request, principal),
        "themes.create",
        "themes",
        [theme.key],
        detail={"new": body.model_dump(mode="json")},
    )
    response.headers["Location"] = f"{router.prefix}/{theme.key}"
    return theme


@router.patch(
    "/{key}",
    operation_id="themes-update",
    response_model=ThemeOut,
    responses={**ok("The theme, updated"), **problem_responses(401, 403, 404, 422)},
)
async def update_theme(
    key: ThemePath, body: ThemeUpdate, db: WriteDb, principal: Admin, request: Request
) -> Any:
    """Change a theme's labels (admin); keys never change."""
    svc = ThemeService(db)
    theme = await svc.get(key)
    current = values_of(theme)
    theme = await svc.update(theme, body.model_dump(exclude_unset=True))
    await record(
        db,
        actor_of(request, principal),
        "themes.update",
        "themes",
        [key],
        detail=changed(current, values_of(theme)),
    )
    return theme
