"""The gateway's read cache: one fetch per key for concurrent misses, renewal ahead of
expiry by a late hit, and nothing ever served past its expiry."""

import asyncio

import pytest

from apps.storefront.read_cache import Cached, ReadCache


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


def _cache(clock: list[float]) -> ReadCache:
    return ReadCache(ttl_seconds=2, clock=lambda: clock[0])


def test_concurrent_misses_share_one_fetch(clock: list[float]) -> None:
    cache = _cache(clock)
    calls: list[int] = []

    async def fetch() -> Cached | None:
        calls.append(1)
        await asyncio.sleep(0.01)
        return cache.put("k", b"{}")

    async def main() -> list[Cached | None]:
        return await asyncio.gather(*(cache.fetch_once("k", fetch) for _ in range(5)))

    found = asyncio.run(main())
    assert len(calls) == 1 and len({id(f) for f in found}) == 1
    assert cache.get("k") is found[0]


def test_a_failed_fetch_reaches_every_waiter_and_the_next_miss_tries_again(
    clock: list[float],
) -> None:
    cache = _cache(clock)

    async def broken() -> Cached | None:
        await asyncio.sleep(0.01)
        raise RuntimeError("catalog down")

    async def main() -> list[object]:
        return await asyncio.gather(
            *(cache.fetch_once("k", broken) for _ in range(3)), return_exceptions=True
        )

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(main()))

    async def works() -> Cached | None:
        return cache.put("k", b"[]")

    assert asyncio.run(cache.fetch_once("k", works)) is not None


def test_a_late_hit_renews_once_in_the_background_and_expiry_is_kept(clock: list[float]) -> None:
    cache = _cache(clock)
    calls: list[float] = []

    async def fetch() -> Cached | None:
        calls.append(clock[0])
        return cache.put("k", b"new")

    async def hit_at(offset: float) -> Cached | None:
        clock[0] = 1000.0 + offset
        found = cache.get("k")
        if found is not None:
            cache.renew_ahead("k", found, fetch)
            cache.renew_ahead("k", found, fetch)  # a second late hit: no second renewal
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return found

    async def main() -> None:
        cache.put("k", b"old")
        assert (await hit_at(1.0)) is not None and calls == []  # early: served, not renewed
        assert (await hit_at(1.6)).body == b"old"  # type: ignore[union-attr]
        assert calls == [1001.6]  # renewed once, in the background
        renewed = cache.get("k")
        assert renewed is not None and renewed.body == b"new"
        assert renewed.expires == pytest.approx(1003.6)
        clock[0] = 1003.7  # nothing is ever served past its expiry
        assert cache.get("k") is None

    asyncio.run(main())
