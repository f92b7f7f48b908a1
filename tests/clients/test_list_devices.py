"""List the tailnet's devices: the ids, node ids and host names the client decodes must be the
ones the bundled devices cassette records, from the one request it sends."""

import json
from pathlib import Path

import pytest


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
