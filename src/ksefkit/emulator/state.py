"""EmulatorState: configuration, clock, ids, store, keys and the backends of one emulator.

State is explicit (``create_app(state=...)``): tests build one with a ``ManualClock`` and a
processing mode, act on it through HTTP or directly, and ``reset()`` it between cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509

from ..identifiers import make_reference_number, random_nip
from .backends.auth import AuthBackend, SeededSubject
from .backends.auth_sessions import AuthSessions
from .backends.batch import BatchBackend
from .backends.certificates import CertificatesBackend
from .backends.collective import CollectiveIdentifiers
from .backends.corrections import TechnicalCorrections
from .backends.exports import ExportsBackend
from .backends.peppol import PeppolRegistry
from .backends.permissions import PermissionsBackend
from .backends.processing import Processor
from .backends.rights import Rights
from .backends.session_limits import SessionLimits
from .backends.sessions import SessionsBackend
from .backends.testdata import TestData
from .backends.tokens import TokensBackend
from .ca import EmulatorCA, load_pem_certificates
from .clock import Clock, ManualClock, SystemClock, warsaw_date
from .faults import Faults
from .keys import EmulatorKeys
from .ratelimit import RateLimiter
from .store import Store
from .upo import UpoSigner

if TYPE_CHECKING:
    from ..testcerts import TestCertificate

__all__ = ["EmulatorConfig", "EmulatorState", "IdFactory", "SeededSubject"]

ProcessingMode = Literal["immediate", "background", "manual"]


@dataclass
class EmulatorConfig:
    """Every knob of the emulator; ``create_app(**config)`` accepts the same names.

    >>> EmulatorConfig(processing="manual").session_lifetime
    43200
    """

    db_path: str = ":memory:"
    #: immediate: work runs inside the request; background: a worker thread; manual: step().
    processing: ProcessingMode = "immediate"
    #: background mode: seconds a work item waits before the worker picks it up.
    processing_delay: float = 0.0
    #: base URL for links the API returns (UPO downloads); None = the request's own host.
    public_url: str | None = None
    #: suffix of the UPO's NazwaPodmiotuPrzyjmujacego ("Ministerstwo Finansów - <suffix>").
    environment_name: str | None = "emulator ksefkit"
    access_token_lifetime: float = 15 * 60
    refresh_token_lifetime: float = 7 * 24 * 3600
    operation_token_lifetime: float = 15 * 60
    challenge_ttl: float = 10 * 60
    session_lifetime: float = 12 * 3600
    #: seconds between acquisitionDate and permanentStorageDate.
    permanent_storage_lag: float = 0.5
    #: seconds the reported permanentStorageHwmDate trails the clock.
    hwm_lag: float = 1.0
    upo_url_lifetime: float = 3 * 24 * 3600
    session_invoice_limit: int = 10_000
    upo_page_size: int = 10_000
    max_invoice_size: int = 1_000_000
    #: size limit of an invoice that carries attachments (``Zalacznik``; batch sessions only).
    max_invoice_size_with_attachment: int = 3_000_000
    #: directory for uploaded batch parts and unpacked packages; None: ``<db file>-storage``
    #: next to a file database, a temporary directory (removed on close) for ``:memory:``.
    storage_dir: str | None = None
    #: largest batch part before encryption (declared encrypted sizes above its
    #: encrypted size are 21157).
    batch_max_part_size: int = 100_000_000
    #: invoices per batch package (more: session status 420).
    batch_max_invoices: int = 10_000
    #: upload window of a batch session, per declared part (20 min x parts, for every part).
    batch_upload_window_per_part: float = 20 * 60
    #: archive entries larger than this are refused as a whole (430, zip-bomb guard); smaller
    #: ones above the invoice size limits fail one by one (invoice status 430).
    batch_max_entry_size: int = 10_000_000
    #: cap on the unpacked size of one package (10 000 invoices x 3 MB).
    batch_max_unpacked_size: int = 30_000_000_000
    #: largest uncompressed/compressed ratio of a package or of an entry above 1 MB.
    batch_max_compression_ratio: float = 200.0
    #: reject invoices whose seller (Podmiot1 NIP) differs from a Nip context (status 410)
    #: unless the seller authorized the context (self-invoicing, RR, tax representative).
    check_seller_context: bool = True
    #: batch invoices with attachments need the context NIP's consent (``/testdata/attachment``)
    #: even when the NIP has no consent record (False: only an explicit revocation refuses).
    require_attachment_consent: bool = False
    #: skip XSD validation (the pipeline also skips it, with a warning, if no XSD is found).
    validate_xsd: bool = True
    #: seed a test company on first start (``serve`` prints its token).
    seed: bool = False
    #: reuse process-wide RSA keys for fresh in-memory states (fast tests).
    reuse_keys: bool = True
    #: seed of the id factory (None: cryptographically random ids).
    random_seed: int | None = None
    #: XAdES: refuse (status 460) certificates not issued by the emulator CA or a trusted CA;
    #: False accepts self-signed ones, as KSeF TEST does (``?verifyCertificateChain=true``
    #: forces the check for one request).
    require_trusted_certificates: bool = False
    #: extra trusted CA certificates (PEM) besides the emulator's own CA.
    trusted_ca_pems: list[bytes] = field(default_factory=list)
    #: exports: plaintext bytes per package part (50 MiB), invoices and compressed bytes per
    #: package (10 000, 1 GiB), concurrent exports per subject in a context.
    export_part_size: int = 50 * 1024 * 1024
    export_max_invoices: int = 10_000
    export_max_size: int = 1024 * 1024 * 1024
    export_max_concurrent: int = 10
    #: exports: seconds a part link is valid, a package is downloadable (then 210), a status
    #: is kept (then 410).
    export_link_lifetime: float = 3600
    export_package_lifetime: float = 3 * 24 * 3600
    export_status_lifetime: float = 7 * 24 * 3600
    #: largest request body the API reads (larger: 400/21405). 10 MB is well above the largest
    #: legitimate request: an online invoice with attachments (3 MB) encrypted, in Base64.
    max_request_body: int = 10_000_000
    #: API rate limits (:mod:`~ksefkit.emulator.ratelimit`): "off" (enforced only for
    #: contexts that ask via /testdata/rate-limits*), "production" (the PRD table) or a
    #: mapping group -> {perSecond?, perMinute?, perHour?} merged over the PRD table.
    rate_limits: str | dict[str, Any] = "off"
    #: fault rules active from the start (mappings or ``--fault`` strings, see
    #: :mod:`~ksefkit.emulator.faults`); ``reset()`` returns to them.
    faults: list[Any] = field(default_factory=list)
    #: seed of the fault RNG (None: unseeded).
    fault_seed: int | None = None


class IdFactory:
    """Reference numbers, KSeF-number technical parts, NIPs and token secrets.

    >>> ids = IdFactory(random.Random(1))
    >>> len(ids.reference("SO", dt.date(2025, 7, 1)))
    36
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng
        self._lock = threading.Lock()

    def hex(self, length: int) -> str:
        """``length`` random upper-case hex characters."""
        with self._lock:
            if self._rng is None:
                return secrets.token_hex((length + 1) // 2)[:length].upper()
            return "".join(self._rng.choice("0123456789ABCDEF") for _ in range(length))

    def reference(self, type_code: str, day: dt.date) -> str:
        """A reference number of ``type_code`` (SO, EE, AU, ...) dated ``day``."""
        return make_reference_number(day, type_code, self.hex(20))

    def nip(self) -> str:
        """A random valid NIP."""
        with self._lock:
            return random_nip(self._rng)

    def secret(self) -> str:
        """64 hex characters of token secret (always from ``secrets``)."""
        return secrets.token_hex(32)


class EmulatorState:
    """One emulator: its store, clock, keys, backends and processing worker.

    >>> state = EmulatorState(processing="manual")
    >>> subject = state.create_subject()
    >>> subject.token.split("|")[1] == f"nip-{subject.nip}"
    True
    >>> state.close()
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        **overrides: Any,
    ) -> None:
        base = config or EmulatorConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        self.clock: Clock = clock or SystemClock()
        self.faults = Faults(self.config.fault_seed, self.config.faults)
        self.rate_limiter = RateLimiter(self.clock, self.config.rate_limits)
        self.store = Store(self.config.db_path)
        self.ids = ids or IdFactory(self._seeded_rng())
        self.keys = EmulatorKeys(self.store, self.clock, reuse=self.config.reuse_keys)
        self.keys.ensure()
        self.jwt_secret = self._persisted_secret()
        self.upo_signer = self._persisted_signer()
        self.ca = self._persisted_ca()
        self._anchors = [self.ca.certificate, *load_pem_certificates(self.config.trusted_ca_pems)]
        self.processor = Processor(self)
        self.rights = Rights(self)
        self.permissions = PermissionsBackend(self)
        self.auth = AuthBackend(self)
        self.auth_sessions = AuthSessions(self)
        self.tokens = TokensBackend(self)
        self.sessions = SessionsBackend(self)
        self.corrections = TechnicalCorrections(self)
        self.batch = BatchBackend(self)
        self.exports = ExportsBackend(self)
        self.certificates = CertificatesBackend(self)
        self.testdata = TestData(self)
        self.session_limits = SessionLimits(self)
        self.peppol = PeppolRegistry(self)
        self.collective = CollectiveIdentifiers(self)
        self._closed = False
        if self.config.db_path != ":memory:":
            self.sweep_files()
        if self.config.processing == "background":
            self.processor.start_worker()  # resumes whatever a previous run left pending

    @property
    def receiver_name(self) -> str:
        """``NazwaPodmiotuPrzyjmujacego`` of the UPOs this emulator signs."""
        suffix = self.config.environment_name
        return "Ministerstwo Finansów" + (f" - {suffix}" if suffix else "")

    def today(self) -> dt.date:
        """The current Europe/Warsaw calendar day (dates in reference numbers)."""
        return warsaw_date(self.clock.now())

    def create_subject(
        self, nip: str | None = None, permissions: list[str] | None = None
    ) -> SeededSubject:
        """Create a company context owned by itself, plus a KSeF token for it.

        >>> s = EmulatorState().create_subject("5265877635"); s.nip
        '5265877635'
        """
        return self.auth.create_subject(nip, permissions)

    def grant_permissions(
        self,
        context: tuple[str, str],
        subject: tuple[str, str],
        permissions: Iterable[str],
    ) -> None:
        """Grant ``subject`` (``("Pesel"|"Nip"|"Fingerprint", value)``) permissions in ``context``.

        >>> s = EmulatorState()
        >>> s.grant_permissions(("Nip", "5265877635"), ("Pesel", "90010112345"), ["InvoiceRead"])
        >>> s.rights.permissions("Nip", "5265877635", "Pesel", "90010112345")
        ('InvoiceRead',)
        """
        self.rights.grant(*context, *subject, permissions)

    def block_context(self, context_type: str, value: str, *, blocked: bool = True) -> None:
        """Block (or unblock) authentication into a context: it then ends with status 480."""
        if blocked:
            self.rights.block(context_type, value)
        else:
            self.rights.unblock(context_type, value)

    def trust_anchors(self) -> list[x509.Certificate]:
        """The CA certificates XAdES signing certificates may chain to."""
        return list(self._anchors)

    def issue_certificate(
        self,
        template: TestCertificate,
        *,
        valid_from: dt.datetime | None = None,
        valid_to: dt.datetime | None = None,
    ) -> TestCertificate:
        """The same subject and key as ``template``, certified by the emulator CA.

        >>> from ksefkit.testcerts import company_seal  # doctest: +SKIP
        >>> trusted = state.issue_certificate(company_seal("5265877635"))  # doctest: +SKIP
        """
        from ..testcerts import TestCertificate

        cert = self.ca.issue(
            template.certificate.subject,
            template.private_key.public_key(),
            now=self.clock.now(),
            valid_from=valid_from,
            valid_to=valid_to,
        )
        return TestCertificate(cert, template.private_key)

    def seed_invoices(self, count: int, **options: Any) -> int:
        """Insert ``count`` accepted invoices straight into the store (see ``backends.seed``).

        >>> EmulatorState().seed_invoices(3, seller_nip="5265877635", buyer_nip="7740001454")
        3
        """
        from .backends.seed import seed_invoices

        return seed_invoices(self, count, **options)

    def step(self) -> int:
        """Run every pending work item now (manual mode); returns how many were processed."""
        return self.processor.run_pending(respect_delay=False)

    def advance(self, seconds: float) -> dt.datetime:
        """Advance a ``ManualClock`` (TypeError for other clocks)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("the emulator clock is not a ManualClock")
        return self.clock.advance(seconds)

    def sweep_files(self) -> int:
        """Remove files a killed emulator left behind (partial uploads, finished sessions'
        and exports' directories); runs on start for a file database. Returns the count.

        Meant for start-up only: a part upload in flight would lose its temporary file.

        >>> EmulatorState().sweep_files()
        0
        """
        with self.processor.paused():
            return self.batch.storage.sweep() + self.exports.sweep()

    def reset(self) -> None:
        """Forget every subject, token, session and invoice, rate-limit counters and
        overrides; faults return to the configured ones. Keys and secrets stay."""
        with self.processor.paused():
            with self.store.tx():  # rows and the HWM go together
                self.store.wipe()
                self.store.run("DELETE FROM meta WHERE key = 'permanent_storage_hwm'")
            self.batch.wipe_files()
            self.exports.wipe_files()
        self.faults.reset()
        self.rate_limiter.reset()

    def close(self) -> None:
        """Stop the worker and close the database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.processor.stop_worker()
        self.store.close()
        self.batch.close()

    def __enter__(self) -> EmulatorState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _seeded_rng(self) -> random.Random | None:
        seed = self.config.random_seed
        if seed is None:
            return None
        if self.config.db_path == ":memory:":
            return random.Random(seed)
        # A restarted emulator must not hand out the ids of its previous runs again (primary
        # keys): each start on the same file draws from its own, still reproducible, stream.
        with self.store.tx():
            row = self.store.get_meta("starts")
            starts = int(row) if row is not None else 0
            self.store.set_meta("starts", str(starts + 1).encode())
        return random.Random(seed) if starts == 0 else random.Random(f"{seed}/{starts}")

    def _persisted_secret(self) -> bytes:
        secret = self.store.get_meta("jwt_secret")
        if secret is None:
            secret = secrets.token_bytes(32)
            self.store.set_meta("jwt_secret", secret)
        return secret

    def _persisted_ca(self) -> EmulatorCA:
        pem = self.store.get_meta("ca")
        if pem is not None:
            return EmulatorCA.from_pem(pem)
        ca = EmulatorCA.generate(self.clock.now())
        self.store.set_meta("ca", ca.to_pem())
        return ca

    def _persisted_signer(self) -> UpoSigner:
        pem = self.store.get_meta("upo_signer")
        if pem is not None:
            return UpoSigner.from_pem(pem)
        signer = _shared_signer() if self.config.reuse_keys else UpoSigner.generate()
        self.store.set_meta("upo_signer", signer.to_pem())
        return signer


_SIGNER_LOCK = threading.Lock()
_SIGNER: list[UpoSigner] = []


def _shared_signer() -> UpoSigner:
    with _SIGNER_LOCK:
        if not _SIGNER:
            _SIGNER.append(UpoSigner.generate())
        return _SIGNER[0]
