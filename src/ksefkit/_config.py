"""Environments, default timeouts and polling constants: the one place for such numbers."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TIMEOUT",
    "Environment",
    "EnvironmentInfo",
]

#: Seconds for connect / read / write / pool, unless the caller passes ``timeout=``.
DEFAULT_TIMEOUT = 30.0

#: KSeF's default limit for one invoice without attachments (1 MB, SI units).
MAX_INVOICE_SIZE = 1_000_000

#: Refresh the access token when fewer than this many seconds of validity remain.
ACCESS_TOKEN_REFRESH_MARGIN = 60.0

#: Adaptive polling: first check after this many seconds, then the delay grows by
#: ``POLL_GROWTH`` up to ``POLL_MAX_DELAY``. KSeF usually answers in well under a second,
#: so the first look comes fast; long jobs are not hammered.
POLL_FIRST_DELAY = 0.05
POLL_GROWTH = 1.6
POLL_MAX_DELAY = 5.0


@dataclass(frozen=True)
class EnvironmentInfo:
    """Where an environment lives: the API base URL, the QR host and the UPO receiver name."""

    name: str
    api_url: str
    qr_url: str
    upo_receiver_suffix: str


class Environment(enum.Enum):
    """The KSeF environments. ``LOCAL`` is the ksefkit emulator on its default port.

    >>> Environment.TEST.api_url
    'https://api-test.ksef.mf.gov.pl/v2'
    """

    TEST = EnvironmentInfo(
        "TEST",
        "https://api-test.ksef.mf.gov.pl/v2",
        "https://qr-test.ksef.mf.gov.pl",
        " - środowisko testowe (TE)",
    )
    DEMO = EnvironmentInfo(
        "DEMO",
        "https://api-demo.ksef.mf.gov.pl/v2",
        "https://qr-demo.ksef.mf.gov.pl",
        " - środowisko przedprodukcyjne (TR)",
    )
    PROD = EnvironmentInfo("PROD", "https://api.ksef.mf.gov.pl/v2", "https://qr.ksef.mf.gov.pl", "")
    LOCAL = EnvironmentInfo(
        "LOCAL", "http://127.0.0.1:8765/v2", "http://127.0.0.1:8765/qr", " - emulator ksefkit"
    )

    @property
    def api_url(self) -> str:
        return self.value.api_url

    @property
    def qr_url(self) -> str:
        return self.value.qr_url

    @classmethod
    def parse(cls, name: str) -> Environment:
        """Environment by case-insensitive name (``"test"``, ``"prd"`` and ``"prod"`` work).

        >>> Environment.parse("prd")
        <Environment.PROD: ...>
        """
        key = name.strip().upper()
        aliases = {
            "PRD": "PROD",
            "PRODUCTION": "PROD",
            "TE": "TEST",
            "TR": "DEMO",
            "PREPROD": "DEMO",
            "EMULATOR": "LOCAL",
        }
        key = aliases.get(key, key)
        try:
            return cls[key]
        except KeyError:
            from .errors import ConfigurationError

            choices = ", ".join(m.name for m in cls)
            raise ConfigurationError(
                f"unknown environment {name!r}; choose one of {choices}"
            ) from None
