"""REST book snapshots for venues whose book sync starts from one (Binance).

Why aiohttp: it is an established asyncio HTTP client that is already a
dependency of the environment, runs on the feed's own event loop (no thread
per request, unlike ``urllib``), pools keep-alive connections per host, and
gives a hard total timeout per request. Writing an HTTP/1.1 + TLS client by
hand on raw asyncio streams would be more code and less correct.

:class:`RestClient` makes single attempts with a bounded timeout and spaces
requests to each venue at least ``rest_min_interval_s`` apart (the venue's
request-weight limit). Retrying with backoff is the caller's job, because
only the caller knows whether the answer is still wanted (a reconnect
makes an in-flight snapshot useless).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import aiohttp

from tapescope.feeds.venues.settings import VenuesSettings

log = logging.getLogger(__name__)

#: Largest snapshot body accepted, bytes (a 5000-level Binance spot snapshot is about 300 KB).
MAX_BODY_BYTES = 16 * 1024 * 1024


class RestError(Exception):
    """A snapshot request failed; the message is short and safe to show."""

    def __init__(self, message: str, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        """Least wait the venue asked for (HTTP 429/418 ``Retry-After``), seconds; 0 if none."""


class _Spacer:
    """Spaces request starts at least ``interval`` seconds apart (one per venue)."""

    __slots__ = ("interval", "_lock", "_next")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = loop.time() + self.interval

    def hold(self, seconds: float) -> None:
        """Push the next allowed start at least ``seconds`` into the future (venue said slow down)."""
        loop = asyncio.get_running_loop()
        self._next = max(self._next, loop.time() + seconds)


class RestClient:
    """Async GET of snapshot bodies, one shared HTTP session, rate-limited per venue.

    Use as ``async with RestClient(settings) as rest: body = await rest.get("okx", url)``.
    """

    def __init__(self, settings: VenuesSettings) -> None:
        self.settings = settings
        """Timeout and rate-limit policy."""
        self._session: aiohttp.ClientSession | None = None
        self._direct: aiohttp.ClientSession | None = None
        self._spacers: dict[str, _Spacer] = {}

    async def __aenter__(self) -> RestClient:
        timeout = aiohttp.ClientTimeout(total=self.settings.rest_timeout_s)
        # Venues are reached through the environment's proxy settings (as the
        # websockets are); loopback (the emulator) always directly.
        self._session = aiohttp.ClientSession(timeout=timeout, raise_for_status=False, trust_env=True)
        self._direct = aiohttp.ClientSession(timeout=timeout, raise_for_status=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in (self._session, self._direct):
            if session is not None:
                await session.close()
        self._session = self._direct = None

    async def get(self, venue: str, url: str) -> bytes:
        """One GET, after waiting for the venue's rate limit.

        Args:
            venue: Venue id (selects the rate limiter).
            url: Full snapshot URL.

        Returns:
            The response body.

        Raises:
            RestError: timeout, connection failure, non-200 status or oversized body.
        """
        session = self._direct if is_loopback(url) else self._session
        if session is None:
            raise RestError("REST client is not open")
        spacer = self._spacers.get(venue)
        if spacer is None:
            spacer = self._spacers[venue] = _Spacer(self.settings.rest_min_interval_s)
        await spacer.wait()
        try:
            async with session.get(url) as resp:
                if resp.status != 200:
                    retry_after = _retry_after(resp.headers.get("Retry-After", ""))
                    if resp.status in (418, 429):
                        # The venue is rate-limiting us: every later request to it waits too.
                        spacer.hold(max(retry_after, self.settings.rest_min_interval_s))
                    raise RestError(f"HTTP {resp.status} from snapshot endpoint", retry_after)
                if resp.content_length is not None and resp.content_length > MAX_BODY_BYTES:
                    raise RestError(f"snapshot body too large ({resp.content_length} bytes)")
                body = await resp.content.read(MAX_BODY_BYTES + 1)
                if len(body) > MAX_BODY_BYTES:
                    raise RestError("snapshot body too large")
                return body
        except TimeoutError:
            raise RestError(f"snapshot timed out after {self.settings.rest_timeout_s:g}s") from None
        except aiohttp.ClientError as exc:
            raise RestError(f"snapshot request failed: {type(exc).__name__}") from None


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (never proxied).

    >>> is_loopback("ws://127.0.0.1:9000/stream"), is_loopback("https://fapi.binance.com")
    (True, False)
    """
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _retry_after(value: str) -> float:
    """Seconds from a ``Retry-After`` header (only the delta-seconds form venues use).

    >>> _retry_after("3"), _retry_after(""), _retry_after("soon")
    (3.0, 0.0, 0.0)
    """
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0
