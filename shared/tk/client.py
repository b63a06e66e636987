"""HTTP client for the SyncFeed: requests built from the configured base URL, transient faults retried.

Retried: timeouts, connection and protocol errors, 429 and 5xx, with capped exponential backoff and full
jitter, honouring `Retry-After` (seconds or an HTTP date) when the server sends one. Anything else fails
at once: retrying a 404 or a malformed page cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog

from shared.settings import Settings

log = structlog.get_logger("nakoming.tk.client")


class FeedUnavailable(Exception):
    """The feed did not answer usefully after every retry (or refused for good)."""


@dataclass
class RetryPolicy:
    max_retries: int = 5
    base: float = 1.0
    cap: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.tk_max_retries, settings.tk_backoff_base, settings.tk_backoff_max)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = min(self.cap, self.base * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # jitter so many workers do not retry in step


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _transient_status(status: int) -> bool:
    return status == 429 or status >= 500


class FeedClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> FeedClient:
        return cls(
            http,
            settings.tk_syncfeed_url,
            policy=RetryPolicy.from_settings(settings),
            timeout=settings.tk_request_timeout,
        )

    async def unreachable(self, timeout: float = 5.0) -> str | None:
        """One quick look before a run: why the feed's host cannot be reached (name lookup or TCP connect), or
        None when it can. Without it an offline run would retry every category's first page with backoff."""
        url = httpx.URL(self.base_url)
        host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            return f"no answer from {host}:{port} within {timeout:g} s"
        except OSError as exc:
            return f"{host}:{port}: {exc.strerror or exc}"
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None

    def page_url(self) -> str:
        return f"{self.base_url}/Feed"

    @staticmethod
    def page_params(category: str, skiptoken: int | None) -> dict[str, str]:
        params = {"category": category}
        if skiptoken is not None:
            params["skiptoken"] = str(skiptoken)
        return params

    def entity_url(self, guid: str) -> str:
        return f"{self.base_url}/Entiteiten/{guid}"

    async def fetch_page(self, category: str, skiptoken: int | None) -> bytes:
        """The raw page after `skiptoken` (the feed's start when None)."""
        body = await self._get(
            self.page_url(), self.page_params(category, skiptoken), f"{category} skiptoken={skiptoken}"
        )
        assert body is not None
        return body

    async def fetch_entity(self, guid: str) -> bytes | None:
        """One entity by its GUID (`Entiteiten/<guid>`); None when the feed does not know it (404)."""
        return await self._get(self.entity_url(guid), {}, f"entity {guid}", missing_ok=True)

    async def _get(
        self, url: str, params: dict[str, str], what: str, *, missing_ok: bool = False
    ) -> bytes | None:
        attempt = 0
        while True:
            self.requests += 1
            retry_after: float | None = None
            try:
                response = await self.http.get(url, params=params, timeout=self.timeout)
                if response.status_code == 200:
                    return response.content
                if response.status_code == 404 and missing_ok:
                    return None
                reason = f"HTTP {response.status_code}"
                if not _transient_status(response.status_code):
                    raise FeedUnavailable(f"{what}: {reason} {response.text[:200]!r}")
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if attempt >= self.policy.max_retries:
                raise FeedUnavailable(f"{what}: {reason} after {attempt + 1} attempts")
            wait = self.policy.delay(attempt, retry_after)
            log.warning(
                "tk_feed_retry", request=what, reason=reason, attempt=attempt + 1, wait_s=round(wait, 2)
            )
            self.retries += 1
            attempt += 1
            await self.sleep(wait)

    async def reachable(self, timeout: float = 5.0) -> bool:
        """One quick request without retries: is the feed there at all?"""
        try:
            response = await self.http.get(
                self.page_url(),
                params={"category": "Kamerstukdossier", "skiptoken": str(2**62)},
                timeout=timeout,
            )
        except (httpx.TimeoutException, httpx.TransportError):
            return False
        return response.status_code < 500
