"""pytest-tailtape: the `tailtape_replay` fixture, a fake Tailscale API replayed from cassettes
by the `tailtape` binary for the length of one test, and `tailtape_emulate`, a stateful fake
tailnet with no cassette. See `plugin` for the fixtures and marker, `server` and `emulate` for
the processes behind them.
"""

from pytest_tailtape.emulate import SESSION_HEADER, EmulateServer, emulate_problems
from pytest_tailtape.server import ENV_VAR, ReplayServer, TailtapeError, find_binary, problems

__all__ = [
    "ENV_VAR",
    "SESSION_HEADER",
    "EmulateServer",
    "ReplayServer",
    "TailtapeError",
    "emulate_problems",
    "find_binary",
    "problems",
]
