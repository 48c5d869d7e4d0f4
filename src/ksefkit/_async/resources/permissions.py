"""``/permissions``: grant and revoke permissions, follow the operations, query who may do what.

Every grant and revocation is asynchronous in KSeF: the call answers with a reference number
at once and :meth:`AsyncPermissions.wait_for_operation` waits for the outcome (status 200, or
:class:`~ksefkit.errors.PermissionOperationFailed` with KSeF's code: 410 identifiers in the wrong
relation, 420 not allowed for these credentials, 430 the context lacks the role, 440 the
relation does not allow it, 450 not for this identifier type). Identifiers are
:class:`~ksefkit.permissions.Identifier` values; the queries are iterators over every page.

>>> from ksefkit.permissions import Identifier
>>> op = await client.permissions.grant_to_person(  # doctest: +SKIP
...     Identifier.pesel("90010112345"), ["InvoiceRead", "InvoiceWrite"],
...     description="Księgowa", first_name="Anna", last_name="Nowak")
>>> await client.permissions.wait_for_operation(op.reference_number)  # doctest: +SKIP
>>> async for grant in client.permissions.query_persons():  # doctest: +SKIP
...     print(grant.authorized_identifier.value, grant.permission_scope)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from ..._http import Operation
from ...errors import ConfigurationError, PermissionOperationFailed
from ...models.permission_queries import (
    EntityAuthorizationGrant,
    EntityAuthorizationPermissionsQueryRequest,
    EntityAuthorizationsAuthorizedEntityIdentifier,
    EntityAuthorizationsAuthorizingEntityIdentifier,
    EntityPermissionItem,
    EntityPermissionsContextIdentifier,
    EntityPermissionsQueryRequest,
    EntityPermissionsSubordinateEntityIdentifier,
    EntityRole,
    EuEntityPermission,
    EuEntityPermissionsQueryRequest,
    PersonalPermission,
    PersonalPermissionsContextIdentifier,
    PersonalPermissionsQueryRequest,
    PersonalPermissionsTargetIdentifier,
    PersonPermission,
    PersonPermissionsAuthorIdentifier,
    PersonPermissionsAuthorizedIdentifier,
    PersonPermissionsContextIdentifier,
    PersonPermissionsQueryRequest,
    PersonPermissionsTargetIdentifier,
    QueryEntityAuthorizationPermissionsResponse,
    QueryEntityPermissionsResponse,
    QueryEntityRolesResponse,
    QueryEuEntityPermissionsResponse,
    QueryPersonalPermissionsResponse,
    QueryPersonPermissionsResponse,
    QuerySubordinateEntityRolesResponse,
    QuerySubunitPermissionsResponse,
    SubordinateEntityRole,
    SubordinateEntityRolesQueryRequest,
    SubunitPermission,
    SubunitPermissionsQueryRequest,
    SubunitPermissionsSubunitIdentifier,
)
from ...models.permissions import (
    CheckAttachmentPermissionStatusResponse,
    EntityAuthorizationPermissionsGrantRequest,
    EntityAuthorizationPermissionsSubjectIdentifier,
    EntityDetails,
    EntityPermission,
    EntityPermissionsGrantRequest,
    EntityPermissionsSubjectIdentifier,
    EuEntityAdministrationPermissionsContextIdentifier,
    EuEntityAdministrationPermissionsGrantRequest,
    EuEntityAdministrationPermissionsSubjectIdentifier,
    EuEntityDetails,
    EuEntityPermissionsGrantRequest,
    EuEntityPermissionsSubjectIdentifier,
    IdDocument,
    IndirectPermissionsGrantRequest,
    IndirectPermissionsSubjectIdentifier,
    IndirectPermissionsTargetIdentifier,
    PermissionsOperationResponse,
    PermissionsOperationStatusResponse,
    PersonPermissionsGrantRequest,
    PersonPermissionsSubjectIdentifier,
    SubunitPermissionsContextIdentifier,
    SubunitPermissionsGrantRequest,
    SubunitPermissionsSubjectIdentifier,
)
from ...permissions import Identifier, eu_subject_details, person_details
from .._transport import TimeoutTypes
from .._wait import poll_until
from ._base import AsyncResource

__all__ = ["AsyncPermissions"]

# Granting again changes nothing (KSeF keeps one grant), so a retry after an ambiguous failure
# is harmless.
GRANT_PERSONS = Operation("POST", "/permissions/persons/grants", idempotent=True)
GRANT_ENTITIES = Operation("POST", "/permissions/entities/grants", idempotent=True)
GRANT_AUTHORIZATION = Operation("POST", "/permissions/authorizations/grants", idempotent=True)
GRANT_INDIRECT = Operation("POST", "/permissions/indirect/grants", idempotent=True)
GRANT_SUBUNIT = Operation("POST", "/permissions/subunits/grants", idempotent=True)
GRANT_EU_ADMINISTRATION = Operation(
    "POST", "/permissions/eu-entities/administration/grants", idempotent=True
)
GRANT_EU_ENTITY = Operation("POST", "/permissions/eu-entities/grants", idempotent=True)
# A repeated revocation of a grant already gone ends with status 400: not retried blindly.
REVOKE = Operation("DELETE", "/permissions/common/grants/{permissionId}")
REVOKE_AUTHORIZATION = Operation("DELETE", "/permissions/authorizations/grants/{permissionId}")
OPERATION_STATUS = Operation("GET", "/permissions/operations/{referenceNumber}")
ATTACHMENTS_STATUS = Operation("GET", "/permissions/attachments/status")
# The queries only read (POST carries the filter): retrying them is harmless.
QUERY_PERSONAL = Operation("POST", "/permissions/query/personal/grants", idempotent=True)
QUERY_PERSONS = Operation("POST", "/permissions/query/persons/grants", idempotent=True)
QUERY_SUBUNITS = Operation("POST", "/permissions/query/subunits/grants", idempotent=True)
QUERY_ENTITIES = Operation("POST", "/permissions/query/entities/grants", idempotent=True)
QUERY_ENTITY_ROLES = Operation("GET", "/permissions/query/entities/roles")
QUERY_SUBORDINATE_ENTITIES = Operation(
    "POST", "/permissions/query/subordinate-entities/roles", idempotent=True
)
QUERY_AUTHORIZATIONS = Operation(
    "POST", "/permissions/query/authorizations/grants", idempotent=True
)
QUERY_EU_ENTITIES = Operation("POST", "/permissions/query/eu-entities/grants", idempotent=True)

#: The status code of a permission operation still being processed.
IN_PROGRESS = 100


class AsyncPermissions(AsyncResource):
    """``client.permissions``: grants, revocations, operation statuses and queries."""

    # -- grants ----------------------------------------------------------------------------

    async def grant_to_person(
        self,
        subject: Identifier,
        permissions: Sequence[str],
        *,
        description: str,
        first_name: str,
        last_name: str,
        identifier: Identifier | None = None,
        birth_date: dt.date | None = None,
        id_document: IdDocument | None = None,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/persons/grants``: let a person (NIP, PESEL or certificate
        fingerprint) work in the current context (needs ``CredentialsManage``).

        ``permissions`` from ``InvoiceWrite``, ``InvoiceRead``, ``CredentialsManage``,
        ``CredentialsRead``, ``Introspection``, ``SubunitManage``, ``EnforcementOperations``
        (only in a context with an enforcement role), ``CollectiveIdentifierManage``. A
        fingerprint grantee also needs ``identifier`` (their PESEL/NIP) or ``birth_date`` and
        ``id_document``.

        >>> op = await client.permissions.grant_to_person(  # doctest: +SKIP
        ...     Identifier.pesel("90010112345"), ["InvoiceRead"], description="Księgowa",
        ...     first_name="Anna", last_name="Nowak")
        """
        body = PersonPermissionsGrantRequest(
            subject_identifier=PersonPermissionsSubjectIdentifier(**_pair(subject)),
            permissions=list(permissions),
            description=description,
            subject_details=person_details(
                first_name,
                last_name,
                by_fingerprint=subject.type == "Fingerprint",
                identifier=identifier,
                birth_date=birth_date,
                id_document=id_document,
            ),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_PERSONS, json=body.to_wire(), timeout=timeout
        )

    async def grant_to_entity(
        self,
        nip: str,
        permissions: Sequence[str],
        *,
        description: str,
        full_name: str,
        can_delegate: bool | Collection[str] = False,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/entities/grants``: let another entity (e.g. an accounting
        office) handle the current context's invoices (``InvoiceRead``/``InvoiceWrite``).

        ``can_delegate`` (``True`` for all, or the permissions to mark) lets the entity pass
        them on to its people with :meth:`grant_indirect`.

        >>> op = await client.permissions.grant_to_entity(  # doctest: +SKIP
        ...     "7762811692", ["InvoiceRead"], description="Biuro", full_name="Biuro sp. z o.o.",
        ...     can_delegate=True)
        """
        body = EntityPermissionsGrantRequest(
            subject_identifier=EntityPermissionsSubjectIdentifier(type="Nip", value=nip.strip()),
            permissions=[
                EntityPermission(type=p, can_delegate=_delegable(p, can_delegate))
                for p in permissions
            ],
            description=description,
            subject_details=EntityDetails(full_name=full_name),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_ENTITIES, json=body.to_wire(), timeout=timeout
        )

    async def grant_authorization(
        self,
        subject: Identifier,
        permission: str,
        *,
        description: str,
        full_name: str,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/authorizations/grants``: authorize another entity to issue
        invoices in the current context's name — ``SelfInvoicing``, ``RRInvoicing`` or
        ``TaxRepresentative`` for a NIP, ``PefInvoicing`` for a Peppol provider.

        >>> op = await client.permissions.grant_authorization(  # doctest: +SKIP
        ...     Identifier.nip("7762811692"), "SelfInvoicing", description="Samofakturowanie",
        ...     full_name="Nabywca sp. z o.o.")
        """
        body = EntityAuthorizationPermissionsGrantRequest(
            subject_identifier=EntityAuthorizationPermissionsSubjectIdentifier(**_pair(subject)),
            permission=permission,
            description=description,
            subject_details=EntityDetails(full_name=full_name),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_AUTHORIZATION, json=body.to_wire(), timeout=timeout
        )

    async def grant_indirect(
        self,
        subject: Identifier,
        permissions: Sequence[str],
        *,
        description: str,
        first_name: str,
        last_name: str,
        target: Identifier | None = None,
        identifier: Identifier | None = None,
        birth_date: dt.date | None = None,
        id_document: IdDocument | None = None,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/indirect/grants``: as an intermediary, pass ``InvoiceRead``/
        ``InvoiceWrite`` received with ``canDelegate`` on to a person — for one client
        (``target``: its NIP or InternalId) or, without ``target`` (or with
        :meth:`Identifier.all_partners`), for every client (a general permission).

        >>> op = await client.permissions.grant_indirect(  # doctest: +SKIP
        ...     Identifier.pesel("90010112345"), ["InvoiceRead"], target=Identifier.nip(client_nip),
        ...     description="Obsługa klienta", first_name="Anna", last_name="Nowak")
        """
        body = IndirectPermissionsGrantRequest(
            subject_identifier=IndirectPermissionsSubjectIdentifier(**_pair(subject)),
            target_identifier=None
            if target is None
            else IndirectPermissionsTargetIdentifier(type=target.type, value=target.value),
            permissions=list(permissions),
            description=description,
            subject_details=person_details(
                first_name,
                last_name,
                by_fingerprint=subject.type == "Fingerprint",
                identifier=identifier,
                birth_date=birth_date,
                id_document=id_document,
            ),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_INDIRECT, json=body.to_wire(), timeout=timeout
        )

    async def grant_subunit(
        self,
        subject: Identifier,
        subunit: Identifier,
        *,
        description: str,
        first_name: str,
        last_name: str,
        subunit_name: str | None = None,
        identifier: Identifier | None = None,
        birth_date: dt.date | None = None,
        id_document: IdDocument | None = None,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/subunits/grants``: appoint the administrator
        (``CredentialsManage``) of a sub-unit — an ``InternalId`` of the current NIP
        (created with ``subunit_name``) or the NIP of a subordinate entity (JST unit, VAT-group
        member). Needs ``SubunitManage``.

        >>> from ksefkit.identifiers import make_internal_id
        >>> op = await client.permissions.grant_subunit(  # doctest: +SKIP
        ...     Identifier.pesel("90010112345"),
        ...     Identifier.internal_id(make_internal_id(nip, "0001")),
        ...     subunit_name="Oddział Kraków", description="Administrator oddziału",
        ...     first_name="Anna", last_name="Nowak")
        """
        body = SubunitPermissionsGrantRequest(
            subject_identifier=SubunitPermissionsSubjectIdentifier(**_pair(subject)),
            context_identifier=SubunitPermissionsContextIdentifier(**_pair(subunit)),
            description=description,
            subunit_name=subunit_name,
            subject_details=person_details(
                first_name,
                last_name,
                by_fingerprint=subject.type == "Fingerprint",
                identifier=identifier,
                birth_date=birth_date,
                id_document=id_document,
            ),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_SUBUNIT, json=body.to_wire(), timeout=timeout
        )

    async def grant_eu_entity_administration(
        self,
        fingerprint: str,
        nip_vat_ue: str,
        *,
        description: str,
        eu_entity_name: str,
        eu_entity_address: str,
        first_name: str | None = None,
        last_name: str | None = None,
        identifier: Identifier | None = None,
        birth_date: dt.date | None = None,
        id_document: IdDocument | None = None,
        entity_name: str | None = None,
        entity_address: str | None = None,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/eu-entities/administration/grants``: appoint the administrator
        of an EU entity that self-invoices for the current NIP, in the context
        ``<nip>-<EU VAT number>``; they get ``VatUeManage``, ``InvoiceWrite``,
        ``InvoiceRead`` and ``Introspection`` there. The grantee is a certificate
        fingerprint: a person (names plus ``identifier`` or ``birth_date`` + ``id_document``)
        or an entity (``entity_name``, ``entity_address``).

        >>> op = await client.permissions.grant_eu_entity_administration(  # doctest: +SKIP
        ...     fingerprint, f"{nip}-DE123456789", description="Administrator UE",
        ...     eu_entity_name="Muster GmbH", eu_entity_address="Berlin",
        ...     entity_name="Muster GmbH", entity_address="Berlin")
        """
        body = EuEntityAdministrationPermissionsGrantRequest(
            subject_identifier=EuEntityAdministrationPermissionsSubjectIdentifier(
                type="Fingerprint", value=fingerprint.strip().upper()
            ),
            context_identifier=EuEntityAdministrationPermissionsContextIdentifier(
                type="NipVatUe", value=nip_vat_ue.strip()
            ),
            description=description,
            eu_entity_name=f"{eu_entity_name}, {eu_entity_address}",
            subject_details=eu_subject_details(
                first_name=first_name,
                last_name=last_name,
                identifier=identifier,
                birth_date=birth_date,
                id_document=id_document,
                entity_name=entity_name,
                entity_address=entity_address,
            ),
            eu_entity_details=EuEntityDetails(full_name=eu_entity_name, address=eu_entity_address),
        )
        return await self._get_model(
            PermissionsOperationResponse,
            GRANT_EU_ADMINISTRATION,
            json=body.to_wire(),
            timeout=timeout,
        )

    async def grant_eu_entity(
        self,
        fingerprint: str,
        permissions: Sequence[str],
        *,
        description: str,
        first_name: str | None = None,
        last_name: str | None = None,
        identifier: Identifier | None = None,
        birth_date: dt.date | None = None,
        id_document: IdDocument | None = None,
        entity_name: str | None = None,
        entity_address: str | None = None,
        timeout: TimeoutTypes = None,
    ) -> PermissionsOperationResponse:
        """``POST /permissions/eu-entities/grants``: as the EU entity's administrator (in its
        ``NipVatUe`` context, ``VatUeManage``), let a representative (a certificate
        fingerprint) issue and/or view invoices (``InvoiceWrite``/``InvoiceRead``).

        >>> op = await client.permissions.grant_eu_entity(  # doctest: +SKIP
        ...     fingerprint, ["InvoiceRead"], description="Reprezentant",
        ...     first_name="Hans", last_name="Muster", identifier=Identifier.pesel(pesel))
        """
        body = EuEntityPermissionsGrantRequest(
            subject_identifier=EuEntityPermissionsSubjectIdentifier(
                type="Fingerprint", value=fingerprint.strip().upper()
            ),
            permissions=list(permissions),
            description=description,
            subject_details=eu_subject_details(
                first_name=first_name,
                last_name=last_name,
                identifier=identifier,
                birth_date=birth_date,
                id_document=id_document,
                entity_name=entity_name,
                entity_address=entity_address,
            ),
        )
        return await self._get_model(
            PermissionsOperationResponse, GRANT_EU_ENTITY, json=body.to_wire(), timeout=timeout
        )

    # -- revocations and operations --------------------------------------------------------

    async def revoke(
        self, permission_id: str, *, timeout: TimeoutTypes = None
    ) -> PermissionsOperationResponse:
        """``DELETE /permissions/common/grants/{permissionId}``: take back a person, entity,
        indirect, sub-unit administrator or EU-entity permission (the ``id`` from a query).

        >>> op = await client.permissions.revoke(grant.id)  # doctest: +SKIP
        """
        return await self._get_model(
            PermissionsOperationResponse,
            REVOKE,
            path_params={"permissionId": permission_id},
            timeout=timeout,
        )

    async def revoke_authorization(
        self, permission_id: str, *, timeout: TimeoutTypes = None
    ) -> PermissionsOperationResponse:
        """``DELETE /permissions/authorizations/grants/{permissionId}``: take back an entity
        authorization (self-invoicing, RR, tax representative, PEF).

        >>> op = await client.permissions.revoke_authorization(grant.id)  # doctest: +SKIP
        """
        return await self._get_model(
            PermissionsOperationResponse,
            REVOKE_AUTHORIZATION,
            path_params={"permissionId": permission_id},
            timeout=timeout,
        )

    async def operation_status(
        self, reference_number: str, *, timeout: TimeoutTypes = None
    ) -> PermissionsOperationStatusResponse:
        """``GET /permissions/operations/{referenceNumber}`` (kept 30 days, then ``Gone``).

        >>> ref = op.reference_number  # doctest: +SKIP
        >>> status = await client.permissions.operation_status(ref)  # doctest: +SKIP
        """
        return await self._get_model(
            PermissionsOperationStatusResponse,
            OPERATION_STATUS,
            path_params={"referenceNumber": reference_number},
            timeout=timeout,
        )

    async def wait_for_operation(
        self, reference_number: str, *, timeout: float | None = 60.0
    ) -> PermissionsOperationStatusResponse:
        """Poll until the operation leaves status 100; raise
        :class:`~ksefkit.errors.PermissionOperationFailed` unless it ends with 200.

        >>> op = await client.permissions.grant_to_entity(...)  # doctest: +SKIP
        >>> await client.permissions.wait_for_operation(op.reference_number)  # doctest: +SKIP
        """
        status = await poll_until(
            lambda: self.operation_status(reference_number),
            lambda s: s.status.code != IN_PROGRESS,
            timeout=timeout,
            what=f"permission operation {reference_number}",
        )
        if status.status.code != 200:
            raise PermissionOperationFailed(
                status.status.code,
                status.status.description,
                status.status.details or (),
                reference_number=reference_number,
            )
        return status

    async def attachments_status(
        self, *, timeout: TimeoutTypes = None
    ) -> CheckAttachmentPermissionStatusResponse:
        """``GET /permissions/attachments/status``: may the current context send invoices with
        attachments (consent filed in e-Urząd Skarbowy; on TEST ``client.testdata``)?

        >>> (await client.permissions.attachments_status()).is_attachment_allowed  # doctest: +SKIP
        True
        """
        return await self._get_model(
            CheckAttachmentPermissionStatusResponse, ATTACHMENTS_STATUS, timeout=timeout
        )

    # -- queries (every page) --------------------------------------------------------------

    async def query_personal(
        self,
        *,
        context: Identifier | None = None,
        target: Identifier | None = None,
        permission_types: Sequence[str] = (),
        state: str | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[PersonalPermission]:
        """``POST /permissions/query/personal/grants``: the caller's own permissions in the
        current context (direct, from a parent unit, indirect, and — for the owner — what other
        entities gave the context). ``context`` is the granting entity (NIP/InternalId),
        ``target`` the client of an indirect permission, ``state`` ``Active``/``Inactive``.

        >>> mine = [p async for p in client.permissions.query_personal()]  # doctest: +SKIP
        """
        body = PersonalPermissionsQueryRequest(
            context_identifier=_model(PersonalPermissionsContextIdentifier, context),
            target_identifier=_model(PersonalPermissionsTargetIdentifier, target),
            permission_types=list(permission_types) or None,
            permission_state=state,
        )
        async for item in self._offset_pages(
            QueryPersonalPermissionsResponse,
            QUERY_PERSONAL,
            lambda page: page.permissions,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_persons(
        self,
        query_type: str = "PermissionsInCurrentContext",
        *,
        author: Identifier | None = None,
        authorized: Identifier | None = None,
        context: Identifier | None = None,
        target: Identifier | None = None,
        permission_types: Sequence[str] = (),
        state: str | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[PersonPermission]:
        """``POST /permissions/query/persons/grants`` (``CredentialsManage``,
        ``CredentialsRead`` or ``SubunitManage``): ``PermissionsInCurrentContext`` — everyone
        who may work in the context — or ``PermissionsGrantedInCurrentContext`` — what the
        caller granted from it. ``author`` may be :meth:`Identifier.system` (ZAW-FA grants).

        >>> async for grant in client.permissions.query_persons(  # doctest: +SKIP
        ...         authorized=Identifier.pesel("90010112345")):
        ...     print(grant.id, grant.permission_scope)
        """
        body = PersonPermissionsQueryRequest(
            author_identifier=_model(PersonPermissionsAuthorIdentifier, author),
            authorized_identifier=_model(PersonPermissionsAuthorizedIdentifier, authorized),
            context_identifier=_model(PersonPermissionsContextIdentifier, context),
            target_identifier=_model(PersonPermissionsTargetIdentifier, target),
            permission_types=list(permission_types) or None,
            permission_state=state,
            query_type=query_type,
        )
        async for item in self._offset_pages(
            QueryPersonPermissionsResponse,
            QUERY_PERSONS,
            lambda page: page.permissions,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_subunits(
        self,
        *,
        subunit: Identifier | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[SubunitPermission]:
        """``POST /permissions/query/subunits/grants``: administrators of sub-units and
        subordinate entities appointed from the current context.

        >>> admins = [a async for a in client.permissions.query_subunits()]  # doctest: +SKIP
        """
        body = SubunitPermissionsQueryRequest(
            subunit_identifier=_model(SubunitPermissionsSubunitIdentifier, subunit)
        )
        async for item in self._offset_pages(
            QuerySubunitPermissionsResponse,
            QUERY_SUBUNITS,
            lambda page: page.permissions,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_entities(
        self,
        *,
        context: Identifier | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[EntityPermissionItem]:
        """``POST /permissions/query/entities/grants``: invoice permissions other entities
        gave the current context (``context`` narrows to one of them).

        >>> received = [p async for p in client.permissions.query_entities()]  # doctest: +SKIP
        """
        body = EntityPermissionsQueryRequest(
            context_identifier=_model(EntityPermissionsContextIdentifier, context)
        )
        async for item in self._offset_pages(
            QueryEntityPermissionsResponse,
            QUERY_ENTITIES,
            lambda page: page.permissions,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_entity_roles(
        self, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> AsyncIterator[EntityRole]:
        """``GET /permissions/query/entities/roles``: the roles of the current context's
        entity (court bailiff, enforcement authority, JST or VAT-group unit or member).

        >>> roles = client.permissions.query_entity_roles()  # doctest: +SKIP
        >>> names = [r.role async for r in roles]  # doctest: +SKIP
        """
        async for item in self._offset_pages(
            QueryEntityRolesResponse,
            QUERY_ENTITY_ROLES,
            lambda page: page.roles,
            page_size=page_size,
            timeout=timeout,
        ):
            yield item

    async def query_subordinate_entities(
        self,
        *,
        nip: str | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[SubordinateEntityRole]:
        """``POST /permissions/query/subordinate-entities/roles``: the subordinate JST units or
        VAT-group members of the current context (``nip`` picks one).

        >>> members = client.permissions.query_subordinate_entities()  # doctest: +SKIP
        >>> nips = [m.subordinate_entity_identifier.value async for m in members]  # doctest: +SKIP
        """
        ident = None if nip is None else Identifier.nip(nip)
        body = SubordinateEntityRolesQueryRequest(
            subordinate_entity_identifier=_model(
                EntityPermissionsSubordinateEntityIdentifier, ident
            )
        )
        async for item in self._offset_pages(
            QuerySubordinateEntityRolesResponse,
            QUERY_SUBORDINATE_ENTITIES,
            lambda page: page.roles,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_authorizations(
        self,
        query_type: str = "Granted",
        *,
        authorizing_nip: str | None = None,
        authorized: Identifier | None = None,
        permission_types: Sequence[str] = (),
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[EntityAuthorizationGrant]:
        """``POST /permissions/query/authorizations/grants``: entity authorizations the
        current context ``Granted`` (filter ``authorized``) or ``Received`` (filter
        ``authorizing_nip``).

        >>> received = client.permissions.query_authorizations("Received")  # doctest: +SKIP
        >>> async for grant in received:  # doctest: +SKIP
        ...     print(grant.authorizing_entity_identifier.value, grant.authorization_scope)
        """
        authorizing = None if authorizing_nip is None else Identifier.nip(authorizing_nip)
        body = EntityAuthorizationPermissionsQueryRequest(
            authorizing_identifier=_model(
                EntityAuthorizationsAuthorizingEntityIdentifier, authorizing
            ),
            authorized_identifier=_model(
                EntityAuthorizationsAuthorizedEntityIdentifier, authorized
            ),
            query_type=query_type,
            permission_types=list(permission_types) or None,
        )
        async for item in self._offset_pages(
            QueryEntityAuthorizationPermissionsResponse,
            QUERY_AUTHORIZATIONS,
            lambda page: page.authorization_grants,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def query_eu_entities(
        self,
        *,
        vat_ue: str | None = None,
        fingerprint: str | None = None,
        permission_types: Sequence[str] = (),
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[EuEntityPermission]:
        """``POST /permissions/query/eu-entities/grants``: from a NIP context the EU-entity
        administrators it appointed; from a ``NipVatUe`` context its administrators and
        representatives. ``vat_ue`` matches exactly, ``fingerprint`` is a substring.

        >>> eu = [p async for p in client.permissions.query_eu_entities()]  # doctest: +SKIP
        """
        body = EuEntityPermissionsQueryRequest(
            vat_ue_identifier=vat_ue,
            authorized_fingerprint_identifier=fingerprint,
            permission_types=list(permission_types) or None,
        )
        async for item in self._offset_pages(
            QueryEuEntityPermissionsResponse,
            QUERY_EU_ENTITIES,
            lambda page: page.permissions,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item


def _pair(identifier: Identifier) -> dict[str, Any]:
    if identifier.value is None:
        raise ConfigurationError(f"{identifier.type} needs a value here")
    return {"type": identifier.type, "value": identifier.value}


def _model(cls: Any, identifier: Identifier | None) -> Any:
    """``cls(type, value)`` for a filter, or None."""
    return None if identifier is None else cls(type=identifier.type, value=identifier.value)


def _delegable(permission: str, can_delegate: bool | Collection[str]) -> bool:
    if isinstance(can_delegate, bool):
        return can_delegate
    return permission in can_delegate
