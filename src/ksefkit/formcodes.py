"""Invoice form codes (``formCode`` of a session) and the schema each one names."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["FormCode", "FormCodeInfo"]


@dataclass(frozen=True)
class FormCodeInfo:
    system_code: str
    schema_version: str
    value: str
    #: Path of the XSD relative to the schema store root (mirrors CIRFMF/ksef-docs).
    xsd_path: str
    #: Namespace of the invoice root element.
    namespace: str
    batch_allowed: bool


class FormCode(enum.Enum):
    """The invoice schemas KSeF sessions accept.

    >>> FormCode.FA3.system_code, FormCode.FA3.schema_version, FormCode.FA3.value_code
    ('FA (3)', '1-0E', 'FA')
    """

    FA2 = FormCodeInfo(
        "FA (2)",
        "1-0E",
        "FA",
        "faktury/schemy/FA/schemat_FA(2)_v1-0E.xsd",
        "http://crd.gov.pl/wzor/2023/06/29/12648/",
        True,
    )
    FA3 = FormCodeInfo(
        "FA (3)",
        "1-0E",
        "FA",
        "faktury/schemy/FA/schemat_FA(3)_v1-0E.xsd",
        "http://crd.gov.pl/wzor/2025/06/25/13775/",
        True,
    )
    FA_RR1 = FormCodeInfo(
        "FA_RR (1)",
        "1-1E",
        "FA_RR",
        "faktury/schemy/RR/schemat_FA_RR(1)_v1-1E.xsd",
        "http://crd.gov.pl/wzor/2026/03/06/14189/",
        True,
    )
    PEF3 = FormCodeInfo(
        "PEF (3)",
        "2-1",
        "PEF",
        "faktury/schemy/PEF/Schemat_PEF(3)_v2-1.xsd",
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        False,
    )
    PEF_KOR3 = FormCodeInfo(
        "PEF_KOR (3)",
        "2-1",
        "PEF",
        "faktury/schemy/PEF/Schemat_PEF_KOR(3)_v2-1.xsd",
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
        False,
    )

    @property
    def system_code(self) -> str:
        return self.value.system_code

    @property
    def schema_version(self) -> str:
        return self.value.schema_version

    @property
    def value_code(self) -> str:
        return self.value.value

    @property
    def xsd_path(self) -> str:
        return self.value.xsd_path

    @property
    def logical_structure_name(self) -> str:
        """The UPO's ``NazwaStrukturyLogicznej``, e.g. ``Schemat_FA(3)_v1-0E.xsd``."""
        return f"Schemat_{self.system_code.replace(' ', '')}_v{self.schema_version}.xsd"

    def to_wire(self) -> dict[str, str]:
        """The ``FormCode`` JSON object."""
        return {
            "systemCode": self.system_code,
            "schemaVersion": self.schema_version,
            "value": self.value_code,
        }

    @classmethod
    def parse(cls, text: str) -> FormCode:
        """Accepts ``"FA (3)"``, ``"FA3"``, ``"fa(3)"``, ``"FA_RR (1)"``, ``"PEF_KOR (3)"``.

        >>> FormCode.parse("fa3") is FormCode.FA3
        True
        """
        key = text.upper().replace(" ", "").replace("(", "").replace(")", "")
        for member in cls:
            if key in (
                member.name.replace("_", ""),
                member.name,
                member.system_code.replace(" ", "").replace("(", "").replace(")", ""),
            ):
                return member
        from .errors import ConfigurationError

        raise ConfigurationError(
            f"unknown form code {text!r}; choose one of " + ", ".join(m.system_code for m in cls)
        )

    @classmethod
    def from_wire(cls, system_code: str, schema_version: str, value: str) -> FormCode | None:
        """The member matching a wire ``FormCode``, or None if KSeF does not support it."""
        for member in cls:
            if (member.system_code, member.schema_version, member.value_code) == (
                system_code,
                schema_version,
                value,
            ):
                return member
        return None
