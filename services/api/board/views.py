"""What each page shows, gathered from the public API (services/api/board/api.py) into template contexts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from services.api.board.api import Api, InvalidQuery
from services.api.board.charts import milestone_chart, trend_chart
from services.api.board.i18n import MILESTONE_ORDER, SCHEDULE_ORDER, STATUS_ORDER, Words
from shared.commitments.counts import CommitmentCountRepository
from shared.commitments.schemas import CommitmentFilters
from shared.commitments.service import CommitmentService

LIST_SIZE = 50
# The overview's filters, as the board's query string names them -> the API's query parameters.
FILTERS = {
    "theme": "theme",
    "owner": "owner_party_id",
    "source": "source_id",
    "status": "status",
    "schedule": "schedule",
    "due_after": "due_after",
    "due_before": "due_before",
}


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _names(items: list[dict[str, Any]], field: str = "name") -> dict[str, str]:
    return {item["id"]: item[field] for item in items}


async def _themes(api: Api, lang: str) -> dict[str, str]:
    return {
        t["key"]: t["label_en"] if lang == "en" and t.get("label_en") else t["label_nl"]
        for t in await api.all("/v1/themes")
    }


async def overview(api: Api, read_session: Any, query: dict[str, str], lang: str) -> dict[str, Any]:
    """Counts per status and schedule over every matching commitment, and one page of them, worst first.

    The list walks the statuses worst first, each in due-date order, with the API's own cursors; the board's
    `after` says where the next page starts ("<status>:<API cursor>")."""
    filters = {api_name: query.get(name) or None for name, api_name in FILTERS.items()}
    themes = await _themes(api, lang)
    parties = await api.all("/v1/parties")
    sources = await api.all("/v1/sources")
    context: dict[str, Any] = {
        "themes": themes,
        "parties": parties,
        "sources": sources,
        "query": query,
        "invalid": [],
        "items": [],
        "counts": {},
        "schedule_counts": {},
        "total": 0,
        "next_after": None,
        "party_names": _names(parties),
    }
    statuses = [filters["status"]] if filters["status"] else list(STATUS_ORDER)
    start, _, cursor = (query.get("after") or "").partition(":")
    if start in statuses:
        statuses = statuses[statuses.index(start) :]
    else:
        cursor = ""
    items: list[dict[str, Any]] = []
    try:
        # The first list call runs before the counts: it checks the caller may read and the filters are valid.
        for status in statuses:
            while len(items) < LIST_SIZE:
                page = await api.get(
                    "/v1/commitments",
                    **{**filters, "status": status},
                    sort="due_date",
                    limit=LIST_SIZE - len(items),
                    cursor=cursor or None,
                )
                items.extend(page["items"])
                cursor = page["next_cursor"] or ""
                if not cursor:
                    break
            if len(items) >= LIST_SIZE:
                context["next_after"] = f"{status}:{cursor}" if cursor else _after_status(statuses, status)
                break
            cursor = ""
    except InvalidQuery as exc:
        context["invalid"] = exc.fields
        context["query"] = _without(query, exc.fields)
        return context
    try:
        conditions = CommitmentService.conditions(CommitmentFilters.model_validate(filters))
    except ValidationError as exc:  # the API took them, so this does not happen; never show a wrong count
        raise InvalidQuery([str(e["loc"][0]) for e in exc.errors()]) from None
    async with read_session as session:
        counts = await CommitmentCountRepository(session).by_status_and_schedule(conditions)
    context["items"] = items
    context["counts"] = {s: sum(n for (st, _), n in counts.items() if st == s) for s in STATUS_ORDER}
    context["schedule_counts"] = {
        s: sum(n for (_, sc), n in counts.items() if sc == s) for s in SCHEDULE_ORDER
    }
    context["total"] = sum(counts.values())
    after = context["next_after"]
    if after and after.endswith(":"):  # the page ended with a status: go on at the next one that has any
        later = statuses[statuses.index(after[:-1]) :]
        context["next_after"] = next((f"{s}:" for s in later if context["counts"][s]), None)
    return context


def _without(query: dict[str, str], api_fields: list[str]) -> dict[str, str]:
    """The query without the refused filters (named by their API field), so no refused value is echoed."""
    refused = {name for name, api_name in FILTERS.items() if api_name in api_fields} | {"after"}
    return {k: v for k, v in query.items() if k not in refused}


def _after_status(statuses: list[str], status: str) -> str | None:
    """Where the next page starts when this status ended exactly at the page's end: the next status."""
    later = statuses[statuses.index(status) + 1 :]
    return f"{later[0]}:" if later else None


def board_link(item: dict[str, Any], commitment_id: str | None = None) -> str | None:
    """The board page for an evidence item, when there is one (every item also links its API `path`)."""
    kind, ident = item.get("type"), item.get("id")
    if kind == "milestone":
        return f"/board/milestones/{ident}"
    if kind == "measurement" and item.get("milestone_id"):
        return f"/board/milestones/{item['milestone_id']}#measurement-{ident}"
    if kind == "action" and commitment_id:
        return f"/board/commitments/{commitment_id}#action-{ident}"
    if kind == "fulfilment" and commitment_id:
        return f"/board/commitments/{commitment_id}#fulfilment-{ident}"
    if kind == "tk_toezegging":
        return f"/board/tk#tz-{ident}"
    if kind in ("due_date", "commitment", "period", "override"):
        return f"/board/commitments/{ident}"
    if kind == "signal_counts":
        themes = item.get("themes") or []
        return "/board/signals" + (f"?theme={themes[0]}" if themes else "")
    return None


async def commitment(api: Api, commitment_id: str, lang: str, t: Words) -> dict[str, Any]:
    item = await api.get(f"/v1/commitments/{commitment_id}")
    party_ids = sorted({item.get("owner_party_id"), item.get("made_to_party_id")} - {None})
    nummer = item.get("tk_toezegging_nummer")
    history, milestones, actions, fulfilments, themes, source, toezegging, *parties = await api.gather(
        api.get(f"/v1/commitments/{commitment_id}/status-history", limit=100),
        api.all("/v1/milestones", commitment_id=commitment_id),
        api.all("/v1/actions", commitment_id=commitment_id),
        api.get(f"/v1/commitments/{commitment_id}/fulfilments", limit=100),
        _themes(api, lang),
        _maybe(api, "/v1/sources/", item.get("source_id")),
        _maybe(api, "/v1/tk/toezeggingen/", nummer),
        *(api.get_or_none(f"/v1/parties/{pid}") for pid in party_ids),
    )
    now = today()
    milestones.sort(key=lambda m: (m["due_date"], m["title"]))
    charts = {m["id"]: milestone_chart(m, now, t) for m in milestones}
    return {
        "item": item,
        "history": history["items"],
        "milestones": milestones,
        "charts": charts,
        "actions": actions,
        "fulfilments": fulfilments["items"],
        "source": source,
        "parties": dict(zip(party_ids, parties)),
        "toezegging": toezegging,
        "themes": themes,
        "titles": _titles(milestones, actions),
    }


async def _maybe(api: Api, prefix: str, ident: str | None) -> Any:
    return await api.get_or_none(prefix + ident) if ident else None


def _titles(*groups: list[dict[str, Any]]) -> dict[str, str]:
    return {record["id"]: record["title"] for group in groups for record in group}


async def milestone(api: Api, milestone_id: str, t: Words) -> dict[str, Any]:
    item = await api.get(f"/v1/milestones/{milestone_id}")
    action = await api.get_or_none(f"/v1/actions/{item['action_id']}") if item.get("action_id") else None
    commitment_id = item.get("commitment_id") or (action or {}).get("commitment_id")
    parent = await api.get_or_none(f"/v1/commitments/{commitment_id}") if commitment_id else None
    source = await api.get_or_none(f"/v1/sources/{item['source_id']}") if item.get("source_id") else None
    item["measurements"].sort(key=lambda m: m["date"])
    return {
        "item": item,
        "action": action,
        "commitment": parent,
        "source": source,
        "chart": milestone_chart(item, today(), t),
    }


async def programmes(api: Api) -> dict[str, Any]:
    sources = await api.all("/v1/sources")
    milestones = await api.all("/v1/milestones")
    per_source: dict[str, int] = {}
    for m in milestones:
        if m.get("source_id"):
            per_source[m["source_id"]] = per_source.get(m["source_id"], 0) + 1
    return {"sources": [s for s in sources if per_source.get(s["id"])], "per_source": per_source}


async def programme(api: Api, source_id: str, t: Words) -> dict[str, Any]:
    """The milestones taken from one source document, grouped under the commitment or action they
    belong to."""
    source = await api.get(f"/v1/sources/{source_id}")
    milestones = [m for m in await api.all("/v1/milestones") if m.get("source_id") == source_id]
    parents: dict[str, dict[str, Any] | None] = {}
    groups: dict[str, dict[str, Any]] = {}
    now = today()
    for m in sorted(milestones, key=lambda m: (m["due_date"], m["title"])):
        kind, pid = ("action", m["action_id"]) if m.get("action_id") else ("commitment", m["commitment_id"])
        if pid not in parents:
            parents[pid] = await api.get_or_none(f"/v1/{kind}s/{pid}")
        parent = parents[pid] or {"id": pid, "title": pid}
        group = groups.setdefault(pid, {"kind": kind, "parent": parent, "milestones": []})
        group["milestones"].append({"item": m, "chart": milestone_chart(m, now, t)})
    counts = {s: sum(1 for m in milestones if m["status"] == s) for s in MILESTONE_ORDER}
    return {"source": source, "groups": list(groups.values()), "counts": counts, "total": len(milestones)}


async def signals(api: Api, query: dict[str, str], lang: str, t: Words) -> dict[str, Any]:
    themes = await _themes(api, lang)
    providers = [p for p in await api.all("/v1/parties") if p.get("agb_code")]
    theme, provider = query.get("theme") or None, query.get("provider") or None
    context: dict[str, Any] = {
        "themes": themes,
        "providers": providers,
        "query": query,
        "invalid": [],
        "trend": None,
        "chart": None,
    }
    try:
        trend = await api.get("/v1/signals/trends", theme=theme, provider=provider, months=12)
    except InvalidQuery as exc:
        context["invalid"] = exc.fields
        context["query"] = {k: v for k, v in query.items() if k not in exc.fields}
        return context
    names = {p["agb_code"]: p["name"] for p in providers}
    what = ", ".join(
        x for x in (themes.get(theme or "", theme), names.get(provider or "", provider)) if x
    ) or t("signals.all")
    rise = trend["rise"]
    if rise["significant"]:
        verdict = t("signals.rise", expected=t.number(rise["expected"]), p=t.number(rise["p_value"]))
    elif rise["suppressed"] and not trend["last_period"]["suppressed"]:
        verdict = t("signals.withheld")
    elif trend["last_period"]["suppressed"] or rise["p_value"] >= 1.0:
        verdict = t("signals.untestable")
    else:
        verdict = t("signals.no_rise", expected=t.number(rise["expected"]), p=t.number(rise["p_value"]))
    context.update(trend=trend, chart=trend_chart(trend, what, t), what=what, verdict=verdict)
    return context


async def tk(api: Api) -> dict[str, Any]:
    followed = [z for z in await api.all("/v1/tk/toezeggingen") if z.get("commitment_id")]
    followed.sort(key=lambda z: z.get("nummer") or "")
    suggestions = await api.all("/v1/tk/suggestions")
    return {"followed": followed, "suggestions": suggestions}
