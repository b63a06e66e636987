"""SSRF rules for webhook targets: the URL when saved, every resolved address at delivery."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.webhooks.targets import TargetRefused, parse, refusal, resolve


def resolver_to(*addresses: str):
    async def resolve_name(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve_name


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.nl/x",  # not https
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://localhost/x",
        "https://api.localhost/x",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/",
        "https://192.168.1.5/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",
        "https://224.0.0.1/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:8.8.8.8]/",
        "https://0.0.0.0/",
        "https://user:pw@hooks.example.nl/",
        "https:///nohost",
        "https://hooks.example.nl:99999/",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(TargetRefused):
        parse(url, allow_private=False)


def test_public_urls_pass_and_private_ones_only_when_allowed() -> None:
    target = parse("https://hooks.example.nl:8443/in?x=1", allow_private=False)
    assert (target.host, target.port, target.path, target.host_header()) == (
        "hooks.example.nl",
        8443,
        "/in?x=1",
        "hooks.example.nl:8443",
    )
    assert parse("https://93.184.216.34/", allow_private=False).host == "93.184.216.34"
    assert parse("http://127.0.0.1:8080/x", allow_private=True).netloc("127.0.0.1") == "127.0.0.1:8080"


@pytest.mark.parametrize(
    "addresses",
    [
        ("10.0.0.1",),
        ("127.0.0.1",),
        ("169.254.169.254",),
        ("93.184.216.34", "10.0.0.1"),
        ("fd12::5",),
        ("::ffff:127.0.0.1",),
        ("100.100.100.100",),
    ],
)
async def test_a_name_resolving_to_a_private_address_is_refused(addresses: tuple[str, ...]) -> None:
    target = parse("https://hooks.example.nl/x", allow_private=False)
    with pytest.raises(TargetRefused, match="resolves to"):
        await resolve(target, resolver_to(*addresses), allow_private=False)
    assert await resolve(target, resolver_to(*addresses), allow_private=True) == addresses[0]


async def test_a_name_resolving_to_public_addresses_connects_to_the_checked_one() -> None:
    target = parse("https://hooks.example.nl/x", allow_private=False)
    assert (
        await resolve(target, resolver_to("93.184.216.34", "2606:2800:220:1::1"), allow_private=False)
        == "93.184.216.34"
    )


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(TargetRefused, match="does not resolve"):
        await resolve(parse("https://nowhere.example.nl/", allow_private=False), failing, allow_private=False)


PRIVATE_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "224.0.0.0/4",
        "0.0.0.0/8",
    )
]


@given(st.sampled_from(PRIVATE_V4), st.integers(min_value=0, max_value=2**32 - 1))
def test_no_address_of_a_private_range_passes(network: ipaddress.IPv4Network, n: int) -> None:
    address = network[n % network.num_addresses]
    assert refusal(str(address)) is not None
    assert refusal(f"::ffff:{address}") is not None  # nor in IPv4-mapped IPv6 form
