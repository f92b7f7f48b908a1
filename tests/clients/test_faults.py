"""PyPI `tailscale` 1.0.0 against fault plans, through the pytest-tailtape plugin's `faults=`:
what the client does on a 429 with Retry-After, on a 503 before a success, and on a reset
connection, and that the account shows each fault fired. The client has no retry logic of its
own: a status surfaces as `TailscaleResponseError` and the next call gets the recorded answer.
aiohttp under it re-sends an idempotent request once when the connection drops, so one reset is
never seen and two are a `TailscaleConnectionError`. The plugin fails
a test whose plan has a rule that never fired.
"""

import asyncio
import time

import pytest
from redirecting import API_KEY, RedirectingSession
from tailscale import Tailscale, TailscaleConnectionError, TailscaleResponseError
from yarl import URL

RATE_LIMITED = {
    "rules": [
        {
            "name": "rate limited",
            "operation": "listTailnetDevices",
            "first": 1,
            "status": 429,
            "retry_after": 1,
        }
    ]
}
OUTAGE = {"rules": [{"operation": "listTailnetDevices", "first": 1, "status": 503}]}
RESET_ONCE = {"rules": [{"operation": "listTailnetDevices", "first": 1, "reset": True}]}
RESET_TWICE = {"rules": [{"operation": "listTailnetDevices", "first": 2, "reset": True}]}


def calls(tailtape_replay, *steps):
    """Runs each `step(api)` in turn with a client over the replay server; their results."""

    async def main():
        session = RedirectingSession(URL(tailtape_replay.url))
        try:
            async with Tailscale(tailnet="-", api_key=API_KEY, session=session) as api:
                return [await step(api) for step in steps]
        finally:
            await session.close()

    return asyncio.run(main())


async def devices(api):
    return sorted((await api.devices()).keys())


def refused(error):
    async def step(api):
        with pytest.raises(error) as raised:
            await api.devices()
        return raised.value

    return step


def waiting(seconds):
    async def step(api):
        await asyncio.sleep(seconds)

    return step


@pytest.mark.tailtape("devices.json", allow_unused=True, faults=RATE_LIMITED)
def test_a_429_raises_a_response_error_and_a_call_after_retry_after_succeeds(tailtape_replay):
    started = time.monotonic()
    limited, _, listed = calls(
        tailtape_replay, refused(TailscaleResponseError), waiting(1.05), devices
    )

    assert (limited.status, limited.reason) == (429, "too many requests")
    assert len(listed) == 3
    assert time.monotonic() - started >= 1
    rule = tailtape_replay.faults()["rules"][0]
    assert (rule["name"], rule["fired"], rule["never_fired"]) == ("rate limited", 1, False)
    assert rule["hits"][0]["retry_after_s"] == 1
    assert rule["hits"][0]["retried_too_early"] is False


@pytest.mark.tailtape("devices.json", allow_unused=True, faults=RATE_LIMITED)
def test_calling_again_at_once_after_a_429_is_retried_too_early(tailtape_replay):
    limited, listed = calls(tailtape_replay, refused(TailscaleResponseError), devices)

    assert limited.status == 429
    assert len(listed) == 3
    account = tailtape_replay.faults()
    assert account["summary"]["retried_too_early"] == 1
    assert account["rules"][0]["hits"][0]["retried_too_early"] is True


@pytest.mark.tailtape("devices.json", allow_unused=True, faults=OUTAGE)
def test_a_503_raises_a_response_error_and_the_next_call_succeeds(tailtape_replay):
    down, listed = calls(tailtape_replay, refused(TailscaleResponseError), devices)

    assert (down.status, down.reason) == (503, "service unavailable")
    assert len(listed) == 3
    assert tailtape_replay.faults()["summary"] == {
        "rules": 1,
        "fired": 1,
        "never_fired": 0,
        "retried_too_early": 0,
    }
    # The 503 never reached the cassette: one request matched, the one that succeeded.
    assert tailtape_replay.report()["summary"]["matched"] == 1


@pytest.mark.tailtape("devices.json", allow_unused=True, faults=RESET_ONCE)
def test_one_reset_connection_is_re_sent_by_aiohttp_and_never_seen(tailtape_replay):
    (listed,) = calls(tailtape_replay, devices)

    assert len(listed) == 3
    rule = tailtape_replay.faults()["rules"][0]
    # The reset fired on the first request, and the re-sent one got the recorded answer.
    assert (rule["fired"], rule["selected"]) == (1, 2)
    assert [h["request"] for h in rule["hits"]] == ["GET /api/v2/tailnet/-/devices?fields=all"]


@pytest.mark.tailtape("devices.json", allow_unused=True, faults=RESET_TWICE)
def test_two_reset_connections_raise_a_connection_error(tailtape_replay):
    reset, listed = calls(tailtape_replay, refused(TailscaleConnectionError), devices)

    assert "communicating" in str(reset)
    assert len(listed) == 3
    rule = tailtape_replay.faults()["rules"][0]
    assert (rule["fired"], rule["selected"]) == (2, 3)


@pytest.mark.tailtape("devices.json", allow_unused=True)
def test_a_plan_set_during_the_test_applies_from_then_on(tailtape_replay):
    assert len(calls(tailtape_replay, devices)[0]) == 3
    tailtape_replay.set_faults(OUTAGE)
    (down,) = calls(tailtape_replay, refused(TailscaleResponseError))
    assert down.status == 503
    assert tailtape_replay.faults()["rules"][0]["fired"] == 1
