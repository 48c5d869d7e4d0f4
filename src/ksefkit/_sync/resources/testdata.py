# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""``/testdata``: the TEST environment's test-data API (and the emulator's; never on PROD).

Subjects (enforcement authorities, VAT groups, local-government units with their subunits),
persons (a PESEL owning a NIP, optionally a court bailiff or deceased), context blocking, and
per-context session limits. Test-data permissions and attachment consent
(``/testdata/permissions*``, ``/testdata/attachment*``) and certificate test data
(``/testdata/limits/subject/certificate``, ``/testdata/certificates/{serialNumber}``) live
here too.

Subject, person and block/unblock calls need no authentication; the session-limit calls act on
the context the client is authenticated in.

>>> client.testdata.create_person("5265877635", "90010112345", "JDG owner")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypeVar

from ..._http import AuthKind, Operation
from ...errors import ConfigurationError
from ...models import (
    ApiRateLimitsOverride,
    AttachmentPermissionGrantRequest,
    AttachmentPermissionRevokeRequest,
    BatchSessionContextLimitsOverride,
    BatchSessionEffectiveContextLimits,
    BlockContextAuthenticationRequest,
    CertificateSubjectLimitsOverride,
    EffectiveApiRateLimits,
    EffectiveContextLimits,
    EnrollmentSubjectLimitsOverride,
    OnlineSessionContextLimitsOverride,
    OnlineSessionEffectiveContextLimits,
    PersonCreateRequest,
    PersonRemoveRequest,
    SetRateLimitsRequest,
    SetSessionLimitsRequest,
    SetSubjectLimitsRequest,
    SubjectCreateRequest,
    SubjectRemoveRequest,
    Subunit,
    TestDataAuthenticationContextIdentifier,
    TestDataAuthorizedIdentifier,
    TestDataContextIdentifier,
    TestDataPermission,
    TestDataPermissionsGrantRequest,
    TestDataPermissionsRevokeRequest,
    TestDataUpdateCertificateRequest,
    UnblockContextAuthenticationRequest,
)
from ...permissions import Identifier
from .._limiter import RATE_LIMITS
from .._transport import TimeoutTypes
from ._base import Resource

CREATE_SUBJECT = Operation("POST", "/testdata/subject", AuthKind.NONE)
REMOVE_SUBJECT = Operation("POST", "/testdata/subject/remove", AuthKind.NONE)
CREATE_PERSON = Operation("POST", "/testdata/person", AuthKind.NONE)
REMOVE_PERSON = Operation("POST", "/testdata/person/remove", AuthKind.NONE)
# Blocking or unblocking twice leaves the same state: a retry cannot do harm.
BLOCK_CONTEXT = Operation("POST", "/testdata/context/block", AuthKind.NONE, idempotent=True)
UNBLOCK_CONTEXT = Operation("POST", "/testdata/context/unblock", AuthKind.NONE, idempotent=True)
# Setting the same limits again (or restoring the defaults again) changes nothing.
SET_SESSION_LIMITS = Operation("POST", "/testdata/limits/context/session", idempotent=True)
RESET_SESSION_LIMITS = Operation("DELETE", "/testdata/limits/context/session", idempotent=True)
# Setting the same certificate limits again (or the defaults again) changes nothing.
SET_CERTIFICATE_LIMITS = Operation("POST", "/testdata/limits/subject/certificate", idempotent=True)
RESET_CERTIFICATE_LIMITS = Operation(
    "DELETE", "/testdata/limits/subject/certificate", idempotent=True
)
# Setting the same validTo twice leaves the same certificate.
UPDATE_CERTIFICATE = Operation("PUT", "/testdata/certificates/{serial}", idempotent=True)
# Granting or revoking the same test-data permissions (or consent) again changes nothing.
GRANT_PERMISSIONS = Operation("POST", "/testdata/permissions", AuthKind.NONE, idempotent=True)
REVOKE_PERMISSIONS = Operation(
    "POST", "/testdata/permissions/revoke", AuthKind.NONE, idempotent=True
)
ENABLE_ATTACHMENTS = Operation("POST", "/testdata/attachment", AuthKind.NONE, idempotent=True)
DISABLE_ATTACHMENTS = Operation(
    "POST", "/testdata/attachment/revoke", AuthKind.NONE, idempotent=True
)
#: Read by :meth:`TestData.set_session_limits` to keep the side it is not asked to change.
CONTEXT_LIMITS = Operation("GET", "/limits/context")
# Setting the same limits twice, or restoring twice, leaves the same state.
SET_RATE_LIMITS = Operation("POST", "/testdata/rate-limits", idempotent=True)
RESET_RATE_LIMITS = Operation("DELETE", "/testdata/rate-limits", idempotent=True)
PRODUCTION_RATE_LIMITS = Operation("POST", "/testdata/rate-limits/production", idempotent=True)

Override = TypeVar(
    "Override", OnlineSessionContextLimitsOverride, BatchSessionContextLimitsOverride
)

#: Any model with ``max_invoice_size_in_mb``, ``max_invoice_with_attachment_size_in_mb`` and
#: ``max_invoices``: the override models, or the effective limits read from KSeF.
SessionLimits = (
    OnlineSessionContextLimitsOverride
    | BatchSessionContextLimitsOverride
    | OnlineSessionEffectiveContextLimits
    | BatchSessionEffectiveContextLimits
)


class TestData(Resource):
    """``client.testdata``: test data on KSeF TEST (and in the ksefkit emulator)."""

    def create_subject(
        self,
        nip: str,
        subject_type: str,
        description: str,
        *,
        subunits: Sequence[Subunit | tuple[str, str]] = (),
        created_date: dt.datetime | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/subject``: register an entity with its subunits.

        ``subject_type`` is ``EnforcementAuthority``, ``VatGroup`` or ``JST``
        (:class:`~ksefkit.models.SubjectType`); ``subunits`` (VAT-group members or subordinate
        local-government units) are :class:`~ksefkit.models.Subunit` or ``(nip, description)``
        pairs. KSeF answers 30001 when the subject already exists. ``created_date`` backdates
        the roles; re-creating a removed subject needs a later date than the previous one.

        >>> client.testdata.create_subject(  # doctest: +SKIP
        ...     "7762811692", "VatGroup", "Grupa VAT", subunits=[("5265877635", "Członek 1")]
        ... )
        """
        units = [
            u if isinstance(u, Subunit) else Subunit(subject_nip=u[0], description=u[1])
            for u in subunits
        ]
        body = SubjectCreateRequest(
            subject_nip=nip,
            subject_type=subject_type,
            subunits=units or None,
            description=description,
            created_date=created_date,
        )
        self._http.request(CREATE_SUBJECT, json=body.to_wire(), timeout=timeout)

    def remove_subject(self, nip: str, *, timeout: TimeoutTypes = None) -> None:
        """``POST /testdata/subject/remove``: remove a subject (and its subunits).

        >>> client.testdata.remove_subject("7762811692")  # doctest: +SKIP
        """
        body = SubjectRemoveRequest(subject_nip=nip)
        self._http.request(REMOVE_SUBJECT, json=body.to_wire(), timeout=timeout)

    def create_person(
        self,
        nip: str,
        pesel: str,
        description: str,
        *,
        is_bailiff: bool = False,
        is_deceased: bool = False,
        created_date: dt.datetime | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/person``: a person (``pesel``) who owns ``nip``.

        The person may then authenticate with a PESEL certificate as the owner of the NIP's
        context. ``is_bailiff`` makes them a court bailiff (``EnforcementOperations``);
        ``is_deceased`` makes every authentication with their credentials end with status 470.
        KSeF answers 30001 when the person already exists.

        >>> client.testdata.create_person(  # doctest: +SKIP
        ...     "5265877635", "90010112345", "Komornik", is_bailiff=True
        ... )
        """
        body = PersonCreateRequest(
            nip=nip,
            pesel=pesel,
            is_bailiff=is_bailiff,
            description=description,
            is_deceased=is_deceased,
            created_date=created_date,
        )
        self._http.request(CREATE_PERSON, json=body.to_wire(), timeout=timeout)

    def remove_person(self, nip: str, *, timeout: TimeoutTypes = None) -> None:
        """``POST /testdata/person/remove``: remove the person owning ``nip``; KSeF takes away
        all their permissions.

        >>> client.testdata.remove_person("5265877635")  # doctest: +SKIP
        """
        body = PersonRemoveRequest(nip=nip)
        self._http.request(REMOVE_PERSON, json=body.to_wire(), timeout=timeout)

    def block_context(
        self,
        *,
        nip: str | None = None,
        internal_id: str | None = None,
        nip_vat_ue: str | None = None,
        peppol_id: str | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/context/block``: every authentication into the context then ends
        with status 480 (give exactly one context keyword).

        >>> client.testdata.block_context(nip="5265877635")  # doctest: +SKIP
        """
        context = _context(
            nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
        )
        body = BlockContextAuthenticationRequest(context_identifier=context)
        self._http.request(BLOCK_CONTEXT, json=body.to_wire(), timeout=timeout)

    def unblock_context(
        self,
        *,
        nip: str | None = None,
        internal_id: str | None = None,
        nip_vat_ue: str | None = None,
        peppol_id: str | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/context/unblock``: authentication into the context works again.

        >>> client.testdata.unblock_context(nip="5265877635")  # doctest: +SKIP
        """
        context = _context(
            nip=nip, internal_id=internal_id, nip_vat_ue=nip_vat_ue, peppol_id=peppol_id
        )
        body = UnblockContextAuthenticationRequest(context_identifier=context)
        self._http.request(UNBLOCK_CONTEXT, json=body.to_wire(), timeout=timeout)

    def set_session_limits(
        self,
        *,
        online: SessionLimits | Mapping[str, int] | None = None,
        batch: SessionLimits | Mapping[str, int] | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/limits/context/session``: override the current context's limits.

        KSeF takes all six values at once; what is not given keeps its effective value (read
        with ``GET /limits/context`` first): a side left out, or the fields a side given as a
        mapping (``{"max_invoices": 5}``) does not name. Sizes are whole MB (0-5 without and
        0-10 with attachments), ``max_invoices`` 0-100 000 per session. Sessions then refuse
        the invoice past ``max_invoices`` (21155) and larger invoices (status 430).

        >>> client.testdata.set_session_limits(online={"max_invoices": 5})  # doctest: +SKIP
        >>> from ksefkit.models import BatchSessionContextLimitsOverride as Limits
        >>> client.testdata.set_session_limits(batch=Limits(  # doctest: +SKIP
        ...     max_invoice_size_in_mb=1, max_invoice_with_attachment_size_in_mb=3, max_invoices=5))
        """
        if online is None and batch is None:
            raise ConfigurationError("give online=, batch= or both")
        partial = any(side is None or isinstance(side, Mapping) for side in (online, batch))
        current = (
            self._get_model(EffectiveContextLimits, CONTEXT_LIMITS, timeout=timeout)
            if partial
            else None
        )
        body = SetSessionLimitsRequest(
            online_session=_override(
                OnlineSessionContextLimitsOverride,
                online,
                current.online_session if current else None,
            ),
            batch_session=_override(
                BatchSessionContextLimitsOverride, batch, current.batch_session if current else None
            ),
        )
        self._http.request(SET_SESSION_LIMITS, json=body.to_wire(), timeout=timeout)

    def reset_session_limits(self, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /testdata/limits/context/session``: back to the default session limits.

        >>> client.testdata.reset_session_limits()  # doctest: +SKIP
        """
        self._http.request(RESET_SESSION_LIMITS, timeout=timeout)

    def set_rate_limits(
        self,
        limits: ApiRateLimitsOverride | Mapping[str, tuple[int, int, int] | Mapping[str, int]],
        *,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/rate-limits``: API rate limits of the current context.

        KSeF takes every group at once; given a mapping, the groups it does not name keep
        their effective values (read with ``GET /rate-limits`` first). Groups are named as
        the API names them (``"invoiceSend"``) or as the model's attributes
        (``"invoice_send"``); values are ``(per_second, per_minute, per_hour)`` or a mapping of
        some of them. A client with ``rate_limits="auto"`` reads the new limits after its next
        429 or login.

        >>> client.testdata.set_rate_limits({"invoiceSend": (2, 10, 100)})  # doctest: +SKIP
        """
        if isinstance(limits, ApiRateLimitsOverride):
            body = SetRateLimitsRequest(rate_limits=limits)
        else:
            current = self._get_model(EffectiveApiRateLimits, RATE_LIMITS, timeout=timeout)
            table = current.to_wire()
            for name, value in limits.items():
                key = _rate_group(name, table)
                if isinstance(value, Mapping):
                    for field, number in value.items():
                        name = _camel(field)
                        if name not in _RATE_FIELDS:
                            raise ConfigurationError(
                                f"unknown rate-limit field {field!r}; known: per_second, "
                                "per_minute, per_hour"
                            )
                        table[key][name] = number
                else:
                    per_second, per_minute, per_hour = value
                    table[key] = {
                        "perSecond": per_second,
                        "perMinute": per_minute,
                        "perHour": per_hour,
                    }
            body = SetRateLimitsRequest.model_validate({"rateLimits": table})
        self._http.request(SET_RATE_LIMITS, json=body.to_wire(), timeout=timeout)

    def use_production_rate_limits(self, *, timeout: TimeoutTypes = None) -> None:
        """``POST /testdata/rate-limits/production``: the production limits for the current
        context (TEST's own defaults are looser).

        >>> client.testdata.use_production_rate_limits()  # doctest: +SKIP
        """
        self._http.request(PRODUCTION_RATE_LIMITS, timeout=timeout)

    def reset_rate_limits(self, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /testdata/rate-limits``: back to the environment's default rate limits.

        >>> client.testdata.reset_rate_limits()  # doctest: +SKIP
        """
        self._http.request(RESET_RATE_LIMITS, timeout=timeout)

    def set_certificate_limits(
        self,
        *,
        max_enrollments: int | None = None,
        max_certificates: int | None = None,
        subject_identifier_type: str | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/limits/subject/certificate``: the authenticated subject's limits.

        ``max_enrollments`` caps the certificate enrollments (25006 beyond it),
        ``max_certificates`` the active KSeF certificates (25007); a limit not given keeps its
        value. ``subject_identifier_type`` (``Nip``, ``Pesel``, ``Fingerprint``) is the
        subject's own identifier type.

        >>> client.testdata.set_certificate_limits(max_certificates=1)  # doctest: +SKIP
        """
        if max_enrollments is None and max_certificates is None:
            raise ConfigurationError("give max_enrollments=, max_certificates= or both")
        body = SetSubjectLimitsRequest(
            subject_identifier_type=subject_identifier_type,
            enrollment=None
            if max_enrollments is None
            else EnrollmentSubjectLimitsOverride(max_enrollments=max_enrollments),
            certificate=None
            if max_certificates is None
            else CertificateSubjectLimitsOverride(max_certificates=max_certificates),
        )
        self._http.request(SET_CERTIFICATE_LIMITS, json=body.to_wire(), timeout=timeout)

    def reset_certificate_limits(self, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /testdata/limits/subject/certificate``: the default certificate limits.

        >>> client.testdata.reset_certificate_limits()  # doctest: +SKIP
        """
        self._http.request(RESET_CERTIFICATE_LIMITS, timeout=timeout)

    def update_certificate(
        self, serial_number: str, *, valid_to: dt.datetime, timeout: TimeoutTypes = None
    ) -> None:
        """``PUT /testdata/certificates/{serialNumber}``: shorten an own KSeF certificate.

        ``valid_to`` may not be later than the current end of validity; a past one makes the
        certificate ``Expired`` at once (it stops authenticating and signing KOD II links).

        >>> client.testdata.update_certificate(serial, valid_to=now)  # doctest: +SKIP
        """
        body = TestDataUpdateCertificateRequest(valid_to=valid_to)
        self._http.request(
            UPDATE_CERTIFICATE,
            path_params={"serial": serial_number},
            json=body.to_wire(),
            timeout=timeout,
        )

    def grant_permissions(
        self,
        context_nip: str,
        authorized: Identifier,
        permissions: Sequence[str],
        *,
        description: str = "Uprawnienie testowe (ZAW-FA)",
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/permissions``: what a ZAW-FA filing would grant — ``permissions``
        (``InvoiceRead``, ``InvoiceWrite``, ``Introspection``, ``CredentialsRead``,
        ``CredentialsManage``, ``EnforcementOperations``, ``SubunitManage``,
        ``CollectiveIdentifierManage``) for ``authorized`` (NIP, PESEL or fingerprint) in the
        context of ``context_nip``, with KSeF itself (``System``) as the author.

        >>> from ksefkit.permissions import Identifier
        >>> client.testdata.grant_permissions(  # doctest: +SKIP
        ...     "5265877635", Identifier.pesel("90010112345"), ["InvoiceRead"])
        """
        body = TestDataPermissionsGrantRequest(
            context_identifier=TestDataContextIdentifier(type="Nip", value=context_nip),
            authorized_identifier=_authorized(authorized),
            permissions=[
                TestDataPermission(description=description, permission_type=p) for p in permissions
            ],
        )
        self._http.request(GRANT_PERMISSIONS, json=body.to_wire(), timeout=timeout)

    def revoke_permissions(
        self, context_nip: str, authorized: Identifier, *, timeout: TimeoutTypes = None
    ) -> None:
        """``POST /testdata/permissions/revoke``: take away what ``authorized`` was granted
        directly in the context of ``context_nip``.

        >>> client.testdata.revoke_permissions(  # doctest: +SKIP
        ...     "5265877635", Identifier.pesel("90010112345"))
        """
        body = TestDataPermissionsRevokeRequest(
            context_identifier=TestDataContextIdentifier(type="Nip", value=context_nip),
            authorized_identifier=_authorized(authorized),
        )
        self._http.request(REVOKE_PERMISSIONS, json=body.to_wire(), timeout=timeout)

    def enable_attachments(self, nip: str, *, timeout: TimeoutTypes = None) -> None:
        """``POST /testdata/attachment``: ``nip`` may send invoices with attachments
        (``Zalacznik``; batch sessions) — the consent filed in e-Urząd Skarbowy on PRD.

        >>> client.testdata.enable_attachments("5265877635")  # doctest: +SKIP
        """
        body = AttachmentPermissionGrantRequest(nip=nip)
        self._http.request(ENABLE_ATTACHMENTS, json=body.to_wire(), timeout=timeout)

    def disable_attachments(
        self,
        nip: str,
        *,
        expected_end_date: dt.date | None = None,
        timeout: TimeoutTypes = None,
    ) -> None:
        """``POST /testdata/attachment/revoke``: withdraw the consent, from
        ``expected_end_date`` (default: at once).

        >>> client.testdata.disable_attachments("5265877635")  # doctest: +SKIP
        """
        body = AttachmentPermissionRevokeRequest(nip=nip, expected_end_date=expected_end_date)
        self._http.request(DISABLE_ATTACHMENTS, json=body.to_wire(), timeout=timeout)


def _override(
    model: type[Override],
    wanted: SessionLimits | Mapping[str, int] | None,
    current: SessionLimits | None,
) -> Override:
    """``wanted`` as a whole override: the ``current`` values where it names nothing.

    >>> from ksefkit.models import OnlineSessionContextLimitsOverride as Online
    >>> from ksefkit.models import OnlineSessionEffectiveContextLimits as Effective
    >>> now = Effective(max_invoice_size_in_mb=1, max_invoice_with_attachment_size_in_mb=3,
    ...                 max_invoices=10000)
    >>> _override(Online, {"max_invoices": 5}, now).max_invoices
    5
    >>> _override(Online, None, now).max_invoice_with_attachment_size_in_mb
    3
    """
    if wanted is not None and not isinstance(wanted, Mapping):
        return model.model_validate(wanted.model_dump())
    if current is None:
        raise ConfigurationError("the current session limits are needed to fill the rest")
    unknown = sorted(set(wanted or {}) - set(model.model_fields))
    if unknown:
        raise ConfigurationError(f"unknown session limit fields: {', '.join(unknown)}")
    return model.model_validate({**current.model_dump(), **(wanted or {})})


_RATE_FIELDS = ("perSecond", "perMinute", "perHour")


def _camel(name: str) -> str:
    """``per_second`` -> ``perSecond`` (camelCase names pass unchanged).

    >>> _camel("invoice_export_status"), _camel("perHour")
    ('invoiceExportStatus', 'perHour')
    """
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _rate_group(name: str, table: Mapping[str, object]) -> str:
    key = _camel(name)
    if key not in table:
        raise ConfigurationError(f"unknown rate-limit group {name!r}; known: {', '.join(table)}")
    return key


def _authorized(identifier: Identifier) -> TestDataAuthorizedIdentifier:
    if identifier.value is None:
        raise ConfigurationError(f"{identifier.type} needs a value here")
    return TestDataAuthorizedIdentifier(type=identifier.type, value=identifier.value)


def _context(
    *,
    nip: str | None,
    internal_id: str | None,
    nip_vat_ue: str | None,
    peppol_id: str | None,
) -> TestDataAuthenticationContextIdentifier:
    """The ``contextIdentifier`` of exactly one keyword.

    >>> _context(nip="5265877635", internal_id=None, nip_vat_ue=None, peppol_id=None).type
    'Nip'
    """
    given = {"Nip": nip, "InternalId": internal_id, "NipVatUe": nip_vat_ue, "PeppolId": peppol_id}
    chosen = [(kind, value) for kind, value in given.items() if value is not None]
    if len(chosen) != 1:
        raise ConfigurationError(
            "give exactly one context: nip=, internal_id=, nip_vat_ue= or peppol_id="
        )
    kind, value = chosen[0]
    return TestDataAuthenticationContextIdentifier(type=kind, value=value)
