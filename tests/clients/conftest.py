"""PyPI `tailscale` 1.0.0 (the client Home Assistant uses) against `tailtape replay` of the
bundled cassettes, through the pytest-tailtape plugin: each test names the cassettes it walks
with `@pytest.mark.tailtape(...)`, relative to the repository's `cassettes/`, and fails on any
request they do not record and any recording it does not ask for.
"""

import asyncio
from pathlib import Path

import pytest
from redirecting import API_KEY, RedirectingSession
from tailscale import Tailscale
from yarl import URL


@pytest.fixture
def tailtape_cassette_dir() -> Path:
    return Path(__file__).parents[2] / "cassettes"


@pytest.fixture
def walk(tailtape_replay):
    """Runs each `scenario(api, session)` in turn, with `api` a client of tailnet `-` over the
    replay server, then checks the journal has no validation warning either."""

    def run(*scenarios) -> None:
        async def main() -> None:
            session = RedirectingSession(URL(tailtape_replay.url))
            try:
                async with Tailscale(tailnet="-", api_key=API_KEY, session=session) as api:
                    for scenario in scenarios:
                        await scenario(api, session)
            finally:
                await session.close()

        asyncio.run(main())
        findings = tailtape_replay.report()["findings"]
        assert findings == [], findings

    return run
