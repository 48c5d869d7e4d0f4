"""The ksefkit emulator: a local KSeF 2.0 server (routes, state, backends, UPO signing).

>>> from ksefkit.emulator import EmulatorState, create_app
>>> app = create_app(EmulatorState(processing="manual"))

Exports are loaded lazily so ``import ksefkit.emulator.upo`` does not pull in Starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .state import EmulatorConfig, EmulatorState

__all__ = ["EmulatorConfig", "EmulatorState", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("EmulatorConfig", "EmulatorState"):
        from . import state

        return getattr(state, name)
    raise AttributeError(name)
