"""The four context types of KSeF-token authentication."""

from __future__ import annotations

import pytest

from ksefkit import ConfigurationError
from ksefkit._async.client import context_identifier
from ksefkit.models import AuthenticationContextIdentifier


@pytest.mark.parametrize(
    ("kwargs", "wire"),
    [
        ({"nip": "5265877635"}, {"type": "Nip", "value": "5265877635"}),
        ({"internal_id": "5265877635-12346"}, {"type": "InternalId", "value": "5265877635-12346"}),
        (
            {"nip_vat_ue": "5265877635-ATU12345678"},
            {"type": "NipVatUe", "value": "5265877635-ATU12345678"},
        ),
        ({"peppol_id": "PPL123456"}, {"type": "PeppolId", "value": "PPL123456"}),
        (
            {"context": AuthenticationContextIdentifier(type="Nip", value="5265877635")},
            {"type": "Nip", "value": "5265877635"},
        ),
    ],
)
def test_each_context_type(kwargs, wire) -> None:
    assert context_identifier(**kwargs).to_wire() == wire


def test_none_or_several_is_an_error() -> None:
    with pytest.raises(ConfigurationError):
        context_identifier()
    with pytest.raises(ConfigurationError):
        context_identifier(nip="5265877635", peppol_id="PPL123456")
