"""``/certificates``: KSeF certificates of the authenticated subject (KSEF_API.md §12.3).

A KSeF certificate identifies the *subject* that logged in (its NIP, PESEL or certificate
fingerprint), not the context; it carries no permissions. ``Authentication`` certificates
sign AuthTokenRequests (XAdES login), ``Offline`` ones sign KOD II links only. Enrollment needs
a login signed with a certificate (XAdES): after a KSeF-token login KSeF refuses it (25001,
25002) and revocation (403 ``auth-method-not-allowed``).

>>> enrolled = await client.certificates.enroll_and_wait("ERP signer")  # doctest: +SKIP
>>> enrolled.save("certs", password=password)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..._http import Operation
from ...certificates import CertificateRequest, EnrolledCertificate, KeyType
from ...errors import CertificateEnrollmentFailed, ConfigurationError
from ...models import (
    CertificateEnrollmentDataResponse,
    CertificateEnrollmentStatusResponse,
    CertificateLimitsResponse,
    CertificateListItem,
    EnrollCertificateRequest,
    EnrollCertificateResponse,
    QueryCertificatesRequest,
    QueryCertificatesResponse,
    RetrieveCertificatesListItem,
    RetrieveCertificatesRequest,
    RetrieveCertificatesResponse,
    RevokeCertificateRequest,
)
from ...xades import PrivateKey
from .._transport import TimeoutTypes
from .._wait import poll_until
from ._base import AsyncResource

LIMITS = Operation("GET", "/certificates/limits")
ENROLLMENT_DATA = Operation("GET", "/certificates/enrollments/data")
# A repeated enrollment is a second request (and counts against the limit): never retried.
ENROLL = Operation("POST", "/certificates/enrollments")
ENROLLMENT_STATUS = Operation("GET", "/certificates/enrollments/{ref}")
# Reads sent as POST: repeating them changes nothing.
RETRIEVE = Operation("POST", "/certificates/retrieve", idempotent=True)
QUERY = Operation("POST", "/certificates/query", idempotent=True)
# A second revoke of the same certificate is 25009: not retried after an ambiguous failure.
REVOKE = Operation("POST", "/certificates/{serial}/revoke")

#: Certificates ``POST /certificates/retrieve`` accepts per request.
RETRIEVE_BATCH = 10


class AsyncCertificates(AsyncResource):
    """``client.certificates``: limits, enrollment, retrieval, listing and revocation."""

    async def limits(self, *, timeout: TimeoutTypes = None) -> CertificateLimitsResponse:
        """``GET /certificates/limits``: how many enrollments and certificates are left.

        >>> (await client.certificates.limits()).can_request  # doctest: +SKIP
        True
        """
        return await self._get_model(CertificateLimitsResponse, LIMITS, timeout=timeout)

    async def enrollment_data(
        self, *, timeout: TimeoutTypes = None
    ) -> CertificateEnrollmentDataResponse:
        """``GET /certificates/enrollments/data``: the DN the CSR must carry (XAdES login only).

        >>> data = await client.certificates.enrollment_data()  # doctest: +SKIP
        >>> request = CertificateRequest.create(data, key_type="ec")  # doctest: +SKIP
        """
        return await self._get_model(
            CertificateEnrollmentDataResponse, ENROLLMENT_DATA, timeout=timeout
        )

    async def enroll(
        self,
        name: str,
        csr: x509.CertificateSigningRequest | CertificateRequest | bytes,
        *,
        certificate_type: str = "Authentication",
        valid_from: dt.datetime | None = None,
        timeout: TimeoutTypes = None,
    ) -> EnrollCertificateResponse:
        """``POST /certificates/enrollments``: request a certificate for ``csr``.

        ``csr`` is a :class:`~ksefkit.certificates.CertificateRequest`, a cryptography CSR, or
        its DER or PEM bytes. ``certificate_type`` is ``Authentication`` or ``Offline``;
        ``valid_from`` defaults to the moment of issue. The answer's reference number feeds
        :meth:`wait_for_enrollment`.

        >>> sent = await client.certificates.enroll("ERP signer", request)  # doctest: +SKIP
        """
        body = EnrollCertificateRequest(
            certificate_name=name,
            certificate_type=certificate_type,
            csr=base64.b64encode(_csr_der(csr)).decode("ascii"),
            valid_from=valid_from,
        )
        return await self._get_model(
            EnrollCertificateResponse, ENROLL, json=body.to_wire(), timeout=timeout
        )

    async def enrollment_status(
        self, reference_number: str, *, timeout: TimeoutTypes = None
    ) -> CertificateEnrollmentStatusResponse:
        """``GET /certificates/enrollments/{referenceNumber}`` (kept 30 days).

        >>> status = await client.certificates.enrollment_status(ref)  # doctest: +SKIP
        """
        return await self._get_model(
            CertificateEnrollmentStatusResponse,
            ENROLLMENT_STATUS,
            path_params={"ref": reference_number},
            timeout=timeout,
        )

    async def wait_for_enrollment(
        self, reference_number: str, *, timeout: float | None = 60.0
    ) -> CertificateEnrollmentStatusResponse:
        """Poll until the enrollment leaves status 100; the status with the serial number.

        A rejected enrollment (400, 500, 550) raises
        :class:`~ksefkit.errors.CertificateEnrollmentFailed`.

        >>> done = await client.certificates.wait_for_enrollment(ref)  # doctest: +SKIP
        >>> done.certificate_serial_number  # doctest: +SKIP
        '018209160C631F1E'
        """
        status = await poll_until(
            lambda: self.enrollment_status(reference_number),
            lambda s: s.status.code != 100,
            timeout=timeout,
            what=f"certificate enrollment {reference_number}",
        )
        if status.status.code != 200 or not status.certificate_serial_number:
            raise CertificateEnrollmentFailed(
                status.status.code,
                status.status.description,
                status.status.details or (),
                reference_number=reference_number,
            )
        return status

    async def retrieve(
        self, serial_numbers: Sequence[str], *, timeout: TimeoutTypes = None
    ) -> list[RetrieveCertificatesListItem]:
        """``POST /certificates/retrieve``: the certificates (Base64 DER) of the serial numbers.

        More than ten serial numbers are fetched ten per request. Serial numbers KSeF does
        not know are missing from the answer.

        >>> [item] = await client.certificates.retrieve(["018209160C631F1E"])  # doctest: +SKIP
        >>> load_certificate(item.certificate).subject  # doctest: +SKIP
        """
        serials = list(dict.fromkeys(serial_numbers))
        if not serials:
            raise ConfigurationError("give at least one certificate serial number")
        found: list[RetrieveCertificatesListItem] = []
        for start in range(0, len(serials), RETRIEVE_BATCH):
            body = RetrieveCertificatesRequest(
                certificate_serial_numbers=serials[start : start + RETRIEVE_BATCH]
            )
            page = await self._get_model(
                RetrieveCertificatesResponse, RETRIEVE, json=body.to_wire(), timeout=timeout
            )
            found.extend(page.certificates)
        return found

    async def query(
        self,
        *,
        serial_number: str | None = None,
        name: str | None = None,
        certificate_type: str | None = None,
        status: str | None = None,
        expires_after: dt.datetime | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[CertificateListItem]:
        """``POST /certificates/query``: every matching certificate, all pages (newest first).

        ``name`` matches a part of the name; ``status`` is ``Active``, ``Blocked``,
        ``Revoked`` or ``Expired``; ``page_size`` 10–50.

        >>> async for cert in client.certificates.query(status="Active"):  # doctest: +SKIP
        ...     print(cert.certificate_serial_number, cert.valid_to)
        """
        body = QueryCertificatesRequest(
            certificate_serial_number=serial_number,
            name=name,
            type=certificate_type,
            status=status,
            expires_after=expires_after,
        )
        async for item in self._offset_pages(
            QueryCertificatesResponse,
            QUERY,
            lambda p: p.certificates,
            page_size=page_size,
            json=body.to_wire(),
            timeout=timeout,
        ):
            yield item

    async def revoke(
        self, serial_number: str, *, reason: str | None = None, timeout: TimeoutTypes = None
    ) -> None:
        """``POST /certificates/{certificateSerialNumber}/revoke`` (an own, active certificate).

        ``reason``: ``Unspecified``, ``Superseded`` or ``KeyCompromise``. The certificate no
        longer authenticates and its KOD II links stop verifying.

        >>> await client.certificates.revoke(serial, reason="KeyCompromise")  # doctest: +SKIP
        """
        body = RevokeCertificateRequest(revocation_reason=reason)
        await self._http.request(
            REVOKE, path_params={"serial": serial_number}, json=body.to_wire(), timeout=timeout
        )

    async def enroll_and_wait(
        self,
        name: str,
        *,
        certificate_type: str = "Authentication",
        key_type: KeyType = "ec",
        private_key: PrivateKey | None = None,
        valid_from: dt.datetime | None = None,
        timeout: float | None = 60.0,
    ) -> EnrolledCertificate:
        """The whole enrollment: DN data → key and CSR → enroll → wait → retrieve.

        A new EC P-256 key (``key_type="rsa"``: RSA 2048) is made unless ``private_key`` is
        given. The result holds the certificate and its key: ``.signer()`` for
        ``client.authenticate``, ``.save(directory, password=...)`` for PEM + PKCS#8 files.

        >>> enrolled = await client.certificates.enroll_and_wait("ERP signer")  # doctest: +SKIP
        >>> await other_client.authenticate(enrolled.signer(), nip=nip)  # doctest: +SKIP
        """
        data = await self.enrollment_data()
        request = CertificateRequest.create(data, key_type=key_type, private_key=private_key)
        sent = await self.enroll(
            name, request, certificate_type=certificate_type, valid_from=valid_from
        )
        return await self.collect(sent.reference_number, request.private_key, timeout=timeout)

    async def collect(
        self, reference_number: str, private_key: PrivateKey, *, timeout: float | None = 60.0
    ) -> EnrolledCertificate:
        """Wait for enrollment ``reference_number``, retrieve the issued certificate and pair
        it with ``private_key`` (the key of the enrollment's CSR).

        >>> enrolled = await client.certificates.collect(ref, key)  # doctest: +SKIP
        """
        done = await self.wait_for_enrollment(reference_number, timeout=timeout)
        serial = done.certificate_serial_number or ""
        items = await self.retrieve([serial])
        if not items:
            raise CertificateEnrollmentFailed(
                done.status.code,
                f"certificate {serial} was issued but cannot be retrieved",
                reference_number=reference_number,
            )
        return EnrolledCertificate.from_retrieved(
            items[0], private_key, reference_number=reference_number
        )


def _csr_der(csr: x509.CertificateSigningRequest | CertificateRequest | bytes) -> bytes:
    if isinstance(csr, CertificateRequest):
        return csr.der
    if isinstance(csr, x509.CertificateSigningRequest):
        return csr.public_bytes(serialization.Encoding.DER)
    if csr.lstrip().startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER)
        except ValueError:
            raise ConfigurationError("csr: not a PEM certificate signing request") from None
    return csr
