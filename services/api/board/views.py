"""What each page shows, gathered from the public API (services/api/board/api.py) into template contexts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup, escape

from services.api.board.api import Api, InvalidQuery
from services.api.board.charts import milestone_chart, trend_chart
from services.api.board.i18n import MILESTONE_ORDER, SCHEDULE_ORDER, STATUS_ORDER, Words

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
        for t in await api.themes()
    }


async def overview(api: Api, query: dict[str, str], lang: str) -> dict[str, Any]:
    """Counts per status and schedule over every matching commitment, and one page of them, worst first.

    The list walks the statuses worst first, each in due-date order, with the API's own cursors; the board's
    `after` says where the next page starts ("<status>:<API cursor>")."""
    filters = {api_name: query.get(name) or None for name, api_name in FILTERS.items()}
    themes = await _themes(api, lang)
    parties = await api.parties()
    sources = await api.sources()
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
        # The list reads run before the counts: the first one refuses invalid filters as the API does.
        for status in statuses:
            while len(items) < LIST_SIZE:
                page = await api.commitments(
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
    counts = await api.commitment_counts(**filters)
    context["items"] = items
    context["counts"] = {s: counts["by_status"][s] for s in STATUS_ORDER}
    context["schedule_counts"] = {s: counts["by_schedule"][s] for s in SCHEDULE_ORDER}
    context["total"] = counts["total"]
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


def measurement_rows(measurements: list[dict[str, Any]], t: Words) -> Markup:
    """A measurements table's rows, written in Python: a template loop costs several calls per cell, and a
    commitment page may show hundreds of measurements."""
    return Markup(
        "\n".join(
            f'<tr id="measurement-{escape(m["id"])}"><td>{escape(t.date(m["date"]))}</td>'
            f'<td class="num">{escape(t.number(m["value"]))}</td><td>{escape(m.get("note") or "")}</td></tr>'
            for m in measurements
        )
    )


async def commitment(api: Api, commitment_id: str, lang: str, t: Words) -> dict[str, Any]:
    item = await api.commitment(commitment_id)
    party_ids = sorted(pid for pid in {item.get("owner_party_id"), item.get("made_to_party_id")} if pid)
    nummer = item.get("tk_toezegging_nummer")
    history = await api.status_history(commitment_id, limit=100)
    milestones = await api.milestones(commitment_id=commitment_id)
    actions = await api.actions(commitment_id=commitment_id)
    fulfilments = await api.fulfilments(commitment_id, limit=100)
    themes = await _themes(api, lang)
    source = await api.source_or_none(item["source_id"]) if item.get("source_id") else None
    toezegging = await api.toezegging_or_none(nummer) if nummer else None
    parties = [await api.party_or_none(pid) for pid in party_ids]
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


def _titles(*groups: list[dict[str, Any]]) -> dict[str, str]:
    return {record["id"]: record["title"] for group in groups for record in group}


async def milestone(api: Api, milestone_id: str, t: Words) -> dict[str, Any]:
    item = await api.milestone(milestone_id)
    action = await api.action_or_none(item["action_id"]) if item.get("action_id") else None
    commitment_id = item.get("commitment_id") or (action or {}).get("commitment_id")
    parent = await api.commitment_or_none(commitment_id) if commitment_id else None
    source = await api.source_or_none(item["source_id"]) if item.get("source_id") else None
    item["measurements"].sort(key=lambda m: m["date"])
    return {
        "item": item,
        "action": action,
        "commitment": parent,
        "source": source,
        "chart": milestone_chart(item, today(), t),
    }


async def programmes(api: Api) -> dict[str, Any]:
    sources = await api.sources()
    milestones = await api.milestones()
    per_source: dict[str, int] = {}
    for m in milestones:
        if m.get("source_id"):
            per_source[m["source_id"]] = per_source.get(m["source_id"], 0) + 1
    return {"sources": [s for s in sources if per_source.get(s["id"])], "per_source": per_source}


async def programme(api: Api, source_id: str, t: Words) -> dict[str, Any]:
    """The milestones taken from one source document, grouped under the commitment or action they
    belong to."""
    source = await api.source(source_id)
    milestones = [m for m in await api.milestones() if m.get("source_id") == source_id]
    parents: dict[str, dict[str, Any] | None] = {}
    groups: dict[str, dict[str, Any]] = {}
    now = today()
    for m in sorted(milestones, key=lambda m: (m["due_date"], m["title"])):
        kind, pid = ("action", m["action_id"]) if m.get("action_id") else ("commitment", m["commitment_id"])
        if pid not in parents:
            parents[pid] = await (api.action_or_none if kind == "action" else api.commitment_or_none)(pid)
        parent = parents[pid] or {"id": pid, "title": pid}
        group = groups.setdefault(pid, {"kind": kind, "parent": parent, "milestones": []})
        group["milestones"].append({"item": m, "chart": milestone_chart(m, now, t)})
    counts = {s: sum(1 for m in milestones if m["status"] == s) for s in MILESTONE_ORDER}
    return {"source": source, "groups": list(groups.values()), "counts": counts, "total": len(milestones)}


async def signals(api: Api, query: dict[str, str], lang: str, t: Words) -> dict[str, Any]:
    themes = await _themes(api, lang)
    providers = [p for p in await api.parties() if p.get("agb_code")]
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
        trend = await api.signal_trend(theme=theme, provider=provider, months=12)
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
    followed = [z for z in await api.toezeggingen() if z.get("commitment_id")]
    followed.sort(key=lambda z: z.get("nummer") or "")
    suggestions = await api.suggestions()
    return {"followed": followed, "suggestions": suggestions}
