"""The status board: server-rendered HTML pages under /board on the public API (no JavaScript needed).

Dutch by default, English with ?lang=en. When public reads are off, the board asks for a key where the API
would answer 401, keeps it in an HttpOnly cookie limited to /board, and reads with that key's rights (api.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.api.board import views
from services.api.board.api import Api, NeedsKey, NotFoundInApi
from services.api.board.i18n import ICONS, MILESTONE_ORDER, SCHEDULE_ORDER, STATUS_ORDER, Words, pick

HERE = Path(__file__).parent
COOKIE = "nakoming_board_key"
CSS = (HERE / "static" / "board.css").read_bytes()

router = APIRouter(prefix="/board", include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals.update(
    icons=ICONS,
    status_order=STATUS_ORDER,
    schedule_order=SCHEDULE_ORDER,
    milestone_order=MILESTONE_ORDER,
    board_link=views.board_link,
    measurement_rows=views.measurement_rows,
)


class Page:
    """One request's language, key and link helper."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.lang = pick(request.query_params.get("lang"))
        self.t = Words(self.lang)
        self.key = request.cookies.get(COOKIE) or None
        self.api = Api(request, language=self.lang, key=self.key)

    def url(self, path: str, **params: Any) -> str:
        """A board link in the page's language; empty params are left out."""
        if not params and self.lang == "nl":  # most links: nothing to add
            return path
        path, _, fragment = path.partition("#")
        path, _, existing = path.partition("?")
        query = {k: v[0] for k, v in parse_qs(existing).items()}
        query.update({k: str(v) for k, v in params.items() if v not in (None, "")})
        if self.lang != "nl":
            query["lang"] = self.lang
        return path + ("?" + urlencode(query) if query else "") + ("#" + fragment if fragment else "")

    def other_language(self, query: dict[str, str] | None) -> str:
        # Only the page's own validated query goes into the link: a refused value is never echoed.
        query = dict(query or {})
        query.pop("lang", None)
        if self.lang == "nl":
            query["lang"] = "en"
        return self.request.url.path + ("?" + urlencode(query) if query else "")

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = templates.get_template(template).render(
            lang=self.lang,
            t=self.t,
            u=self.url,
            other_language=self.other_language(context.get("query")),
            path=self.request.url.path,
            has_key=self.key is not None,
            **context,
        )
        response = HTMLResponse(html, status_code=status_code, headers={"Content-Language": self.lang})
        if self.key:
            response.headers["Cache-Control"] = "private, no-store"
        return response


async def _serve(request: Request, build: Callable[[Page], Awaitable[Response]]) -> Response:
    page = Page(request)
    try:
        async with page.api:  # the caller checked, the page's read session
            return await build(page)
    except NeedsKey:
        return page.render(
            "key.html",
            401,
            title=page.t("key.title"),
            invalid=page.key is not None,
            next=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        )
    except NotFoundInApi:
        return page.render("notfound.html", 404, title=page.t("notfound.title"))


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFoundInApi(value) from None


@router.get("")
async def overview(request: Request) -> Response:
    async def build(page: Page) -> Response:
        query = {k: v for k, v in request.query_params.items() if k in (*views.FILTERS, "after")}
        context = await views.overview(page.api, query, page.lang)
        return page.render(
            "overview.html", 422 if context["invalid"] else 200, title=page.t("overview.title"), **context
        )

    return await _serve(request, build)


@router.get("/commitments/{commitment_id}")
async def commitment(request: Request, commitment_id: str) -> Response:
    async def build(page: Page) -> Response:
        context = await views.commitment(page.api, _uuid_or_404(commitment_id), page.lang, page.t)
        return page.render("commitment.html", title=context["item"]["title"], **context)

    return await _serve(request, build)


@router.get("/milestones/{milestone_id}")
async def milestone(request: Request, milestone_id: str) -> Response:
    async def build(page: Page) -> Response:
        context = await views.milestone(page.api, _uuid_or_404(milestone_id), page.t)
        return page.render("milestone.html", title=context["item"]["title"], **context)

    return await _serve(request, build)


@router.get("/programmes")
async def programmes(request: Request) -> Response:
    async def build(page: Page) -> Response:
        return page.render(
            "programmes.html", title=page.t("programmes.title"), **await views.programmes(page.api)
        )

    return await _serve(request, build)


@router.get("/programmes/{source_id}")
async def programme(request: Request, source_id: str) -> Response:
    async def build(page: Page) -> Response:
        context = await views.programme(page.api, _uuid_or_404(source_id), page.t)
        return page.render("programme.html", title=context["source"]["title"], **context)

    return await _serve(request, build)


@router.get("/signals")
async def signals(request: Request) -> Response:
    async def build(page: Page) -> Response:
        query = {k: v for k, v in request.query_params.items() if k in ("theme", "provider")}
        context = await views.signals(page.api, query, page.lang, page.t)
        return page.render(
            "signals.html", 422 if context["invalid"] else 200, title=page.t("signals.title"), **context
        )

    return await _serve(request, build)


@router.get("/tk")
async def tk(request: Request) -> Response:
    async def build(page: Page) -> Response:
        return page.render("tk.html", title=page.t("tk.title"), **await views.tk(page.api))

    return await _serve(request, build)


def _safe_next(value: str | None) -> str:
    # Only back into the board: never an open redirect to another site.
    if value and value.startswith("/board") and not value.startswith("//"):
        return value
    return "/board"


@router.post("/key")
async def set_key(request: Request) -> Response:
    """The key form: parsed by hand (a tiny urlencoded body; no multipart dependency for one field)."""
    form = {k: v[0] for k, v in parse_qs((await request.body())[:4096].decode("utf-8", "replace")).items()}
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    key = (form.get("key") or "").strip()
    if key:
        response.set_cookie(
            COOKIE, key, path="/board", httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
    return response


@router.post("/key/forget")
async def forget_key(request: Request) -> Response:
    response = RedirectResponse("/board", status_code=303)
    response.delete_cookie(COOKIE, path="/board")
    return response


@router.get("/static/board.css")
async def stylesheet() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})
