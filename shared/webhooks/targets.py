"""Where a webhook may point: no request from the worker reaches the machine itself or the private network.

Checked when a webhook is saved (the URL: https, no credentials, no private literal address, no `localhost`) and
again at every delivery after DNS resolution: every address the name resolves to must be public, and the
connection goes to that checked address (with the name for the TLS certificate and the Host header), so a name
cannot resolve to a public address for the check and a private one for the connection. Redirects are not
followed (a 3xx is a failed attempt). `NAKOMING_WEBHOOK_ALLOW_PRIVATE=true` lifts the address and scheme rules
(tests, closed networks).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Awaitable[list[str]]]
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class TargetRefused(ValueError):
    """The URL or the address it resolves to is not a public https endpoint."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: str) -> str | None:
    """Why `address` is no place for a webhook (None: a public unicast address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped or ip.sixtofour or ip.teredo):
        return "an IPv4 address in IPv6 form"
    for name, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
    ):
        if flag:
            return f"a {name} address"
    if not ip.is_global:  # shared (CGNAT 100.64/10), documentation and benchmarking ranges
        return "not a public address"
    return None


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (a name, or an address without brackets)
    port: int
    path: str  # path and query

    def netloc(self, address: str) -> str:
        shown = f"[{address}]" if ":" in address else address
        return f"{shown}:{self.port}"

    def host_header(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return shown if self.port == default else f"{shown}:{self.port}"


def parse(url: str, *, allow_private: bool) -> Target:
    """The URL's parts, or TargetRefused saying what is wrong with it (no DNS lookup)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not allow_private):
        raise TargetRefused("the URL must start with https://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials (the signature authenticates us)")
    if parts.fragment:
        raise TargetRefused("the URL must not have a fragment")
    host = parts.hostname.rstrip(".").lower()
    if not allow_private:
        if host in LOCAL_NAMES or host.endswith((".localhost", ".local", ".internal")):
            raise TargetRefused(f"{host} is a local name")
        try:
            why = refusal(host)
        except ValueError:
            why = None  # a name: checked after resolution, at delivery
        if why:
            raise TargetRefused(f"{host} is {why}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


async def resolve(target: Target, resolver: Resolver, *, allow_private: bool) -> str:
    """The address to connect to: the first the name resolves to, after checking all of them."""
    try:
        addresses = [str(ipaddress.ip_address(target.host))]
    except ValueError:
        try:
            addresses = await resolver(target.host, target.port)
        except OSError as exc:
            raise TargetRefused(f"{target.host} does not resolve ({exc.strerror or exc})") from None
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    if not allow_private:
        for address in addresses:
            why = refusal(address)
            if why:
                raise TargetRefused(f"{target.host} resolves to {address}, {why}")
    return addresses[0]
