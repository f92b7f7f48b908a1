"""pytest-tailtape: the `tailtape_replay` fixture, a fake Tailscale API replayed from cassettes
by the `tailtape` binary for the length of one test. See `plugin` for the fixture and marker,
`server` for the process behind them.
"""

from pytest_tailtape.server import ENV_VAR, ReplayServer, TailtapeError, find_binary, problems

__all__ = ["ENV_VAR", "ReplayServer", "TailtapeError", "find_binary", "problems"]
