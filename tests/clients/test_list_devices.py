"""List the tailnet's devices: the ids, node ids and host names the client decodes must be the
ones the bundled devices cassette records, from the one request it sends."""

import asyncio
import json
from pathlib import Path

import pytest
from redirecting import API_KEY, RedirectingSession
from tailscale import Tailscale
from yarl import URL


@pytest.mark.tailtape("devices.json", allow_unused=True)
def test_the_client_lists_the_recorded_devices(walk, tailtape_replay, tailtape_cassette_dir):
    listed = []

    async def list_devices(api, session):
        for device_id, device in (await api.devices()).items():
            listed.append((device_id, device.node_id, device.hostname))

    walk(list_devices)

    cassette = json.loads(Path(tailtape_cassette_dir, "devices.json").read_text())
    recorded = cassette["interactions"][0]["response"]["json"]["devices"]
    assert listed == [(d["id"], d["nodeId"], d["hostname"]) for d in recorded]
    assert len(listed) == 3
    matched = tailtape_replay.report()["matched"]
    assert [m["request"] for m in matched] == ["GET /api/v2/tailnet/-/devices?fields=all"]


@pytest.mark.tailtape("devices.json", allow_unused=True)
def test_a_client_configured_with_the_tailnets_name_gets_the_same_devices(tailtape_replay):
    """The cassette says its tailnet is `example.com` (`recorded.tailnet`); a client configured
    with that name instead of `-` is answered from the same recording, by equivalence."""

    async def main():
        session = RedirectingSession(URL(tailtape_replay.url))
        try:
            async with Tailscale(tailnet="example.com", api_key=API_KEY, session=session) as api:
                return sorted(device.hostname for device in (await api.devices()).values())
        finally:
            await session.close()

    hostnames = asyncio.run(main())

    assert len(hostnames) == 3
    matched = tailtape_replay.report()["matched"]
    assert [(m["request"], m["equivalences"]) for m in matched] == [
        ("GET /api/v2/tailnet/-/devices?fields=all", ["tailnet-name"])
    ]
