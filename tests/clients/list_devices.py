"""List the tailnet's devices with PyPI `tailscale` (the client Home Assistant uses) against a
fake API, and print one line per device: id, nodeId, hostname.

The client hard-codes https://api.tailscale.com/api/v2/; it calls only `request()` of the
session it is given, so a session that rewrites the URL points it at the fake.

Usage: python list_devices.py http://127.0.0.1:PORT
"""

import asyncio
import sys

from aiohttp import ClientSession
from tailscale import Tailscale
from yarl import URL


class RedirectingSession:
    """An aiohttp session that sends every request to `base` instead of the real API."""

    def __init__(self, base: URL) -> None:
        self._base = base
        self._session = ClientSession()

    def request(self, method, url, **kwargs):
        url = URL(url)
        return self._session.request(
            method, self._base.with_path(url.path).with_query(url.query), **kwargs
        )

    async def close(self) -> None:
        await self._session.close()


async def main(base: str) -> None:
    session = RedirectingSession(URL(base))
    try:
        async with Tailscale(tailnet="-", api_key="tskey-api-fake", session=session) as api:
            for device_id, device in (await api.devices()).items():
                print(device_id, device.node_id, device.hostname)
    finally:
        await session.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
