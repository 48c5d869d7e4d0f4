# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""``Client``: one connection to one KSeF environment, with its tokens and keys.

>>> with Client(Environment.TEST) as client:  # doctest: +SKIP
...     client.authenticate(token, nip="5265877635")
...     with client.online_session(FormCode.FA3) as session:
...         sent = session.send(xml)
"""

from __future__ import annotations

import copy
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from .._config import DEFAULT_TIMEOUT, MAX_INVOICE_SIZE, Environment
from .._retry import DEFAULT_RETRY, RetryPolicy
from ..batch_state import BatchSessionState
from ..errors import ConfigurationError
from ..formcodes import FormCode
from ..models import AuthenticationContextIdentifier, AuthorizationPolicy, TokenInfo
from ..state import OnlineSessionState
from ._keys import KeyRing
from ._limiter import RateLimiter, RateLimitSetting
from ._tokens import TokenManager
from ._transport import NOT_GIVEN, Http, NotGiven, TimeoutTypes
from .resources._base import Resource
from .resources.auth import Auth
from .resources.certificates import Certificates
from .resources.collective import CollectiveIdentifiers
from .resources.invoices import Invoices
from .resources.limits import Limits
from .resources.peppol import Peppol
from .resources.permissions import Permissions
from .resources.security import Security
from .resources.sessions import Sessions
from .resources.testdata import TestData
from .resources.tokens import KsefTokens
from .workflows.authenticate import (
    AuthResult,
    authenticate_with_ksef_token,
    authenticate_with_xades,
)
from .workflows.batch import BatchSession
from .workflows.offline import OfflineSender, OfflineProgress
from .workflows.online import OnlineSession

if TYPE_CHECKING:
    from collections.abc import Callable
    from os import PathLike

    from ..offline.queue import OfflineQueue
    from ..xades import XadesSigner

__all__ = ["Client"]


class Client:
    """A KSeF client.

    ``environment`` is an :class:`Environment` (or its name); ``base_url`` overrides it
    (``/v2`` is appended when the URL has no path). Pass ``http_client`` or ``transport``
    to control HTTP yourself, ``verify`` (a CA bundle path or an ``ssl.SSLContext``) for a
    custom CA, ``timeout`` in seconds, ``retry`` for the retry policy, and ``access_token`` /
    ``refresh_token`` to reuse tokens obtained elsewhere.

    ``rate_limits`` paces requests by KSeF's rate-limit groups so that KSeF does not answer
    429: ``"auto"`` (read ``GET /rate-limits`` after authentication), ``"defaults"`` (the
    documented table), a mapping ``{group: (per_second, per_minute, per_hour)}`` or ``None``
    (off). All tasks and threads using the client share its counters.
    :meth:`with_options` changes the retry policy, timeout or pacing for some calls.
    """

    def __init__(
        self,
        environment: Environment | str = Environment.TEST,
        *,
        base_url: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        verify: bool | str | ssl.SSLContext = True,
        retry: RetryPolicy = DEFAULT_RETRY,
        access_token: TokenInfo | str | None = None,
        refresh_token: TokenInfo | str | None = None,
        headers: Mapping[str, str] | None = None,
        problem_details: bool = False,
        rate_limits: RateLimitSetting = "auto",
    ) -> None:
        env = Environment.parse(environment) if isinstance(environment, str) else environment
        self.environment = env
        self.base_url = _api_url(base_url) if base_url else env.api_url
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        owns = http_client is None
        if http_client is None:
            http_client = httpx.Client(
                transport=transport, timeout=timeout, verify=_ssl_context(verify)
            )
        all_headers = {"Accept": "application/json", **(headers or {})}
        if problem_details:
            all_headers["X-Error-Format"] = "problem-details"
        self._http = Http(
            http_client,
            self.base_url,
            retry=retry,
            headers=all_headers,
            owns_client=owns,
            limiter=RateLimiter(rate_limits),
        )
        self._http.tokens.set(access_token, refresh_token)
        self.auth = Auth(self._http)
        self.security = Security(self._http)
        self.sessions = Sessions(self._http)
        self.ksef_tokens = KsefTokens(self._http)
        self.limits = Limits(self._http)
        self.keys = KeyRing(self.security)
        self.invoices = Invoices(self._http, self.keys)
        self.testdata = TestData(self._http)
        self.peppol = Peppol(self._http)
        self.collective_identifiers = CollectiveIdentifiers(self._http)
        self.certificates = Certificates(self._http)
        self.permissions = Permissions(self._http)

    def __repr__(self) -> str:
        return f"<Client {self.base_url} {self.tokens!r}>"

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this client (or view)."""
        return self._http.retry

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: TimeoutTypes = None,
        rate_limits: RateLimitSetting | NotGiven = NOT_GIVEN,
    ) -> Client:
        """A view of this client with another retry policy, timeout or rate-limit setting.

        The view shares everything else: the connection pool, tokens, public-key cache and
        rate-limit counters (its requests count against the same KSeF limits); closing it
        closes nothing. What is not given is kept; ``rate_limits=None`` turns pacing off for
        the view's calls.

        >>> client.with_options(retry=NO_RETRY).sessions.status(ref)  # doctest: +SKIP
        >>> patient = client.with_options(retry=RetryPolicy(max_wait=3600))  # doctest: +SKIP
        """
        view = copy.copy(self)
        view._http = self._http.with_options(retry=retry, timeout=timeout, rate_limits=rate_limits)
        for name, value in vars(self).items():
            if isinstance(value, Resource):
                bound = copy.copy(value)
                bound._http = view._http
                setattr(view, name, bound)
        return view

    @property
    def tokens(self) -> TokenManager:
        """The access/refresh token pair (refreshed automatically before expiry)."""
        return self._http.tokens

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (only if the client created them)."""
        self._http.close()

    def authenticate(
        self,
        credential: str | XadesSigner,
        *,
        nip: str | None = None,
        internal_id: str | None = None,
        nip_vat_ue: str | None = None,
        peppol_id: str | None = None,
        context: AuthenticationContextIdentifier | None = None,
        subject_identifier_type: str = "certificateSubject",
        authorization_policy: AuthorizationPolicy | None = None,
        enforce_xades_compliance: bool = False,
        verify_certificate_chain: bool | None = None,
        timeout: float | None = 120.0,
    ) -> AuthResult:
        """Authenticate in one context with any credential; the client keeps the tokens.

        ``credential`` is a KSeF token (``str``) or a :class:`~ksefkit.xades.XadesSigner`
        (certificate + key from PEM, encrypted PEM or PKCS#12, a signing callback for an HSM,
        or a test certificate's ``.signer()``). Exactly one context: ``nip``, ``internal_id``,
        ``nip_vat_ue``, ``peppol_id`` or ``context``. The XAdES-only options are
        ``subject_identifier_type`` (``certificateSubject`` or ``certificateFingerprint``),
        ``enforce_xades_compliance`` and ``verify_certificate_chain``. Failed authentication
        raises :class:`~ksefkit.errors.AuthenticationFailed` with KSeF's status code (e.g.
        415 no permissions, 450 bad token, 460 certificate error, 480 blocked).

        >>> client.authenticate(os.environ["KSEF_TOKEN"], nip="5265877635")  # doctest: +SKIP
        >>> signer = XadesSigner.from_pkcs12_file("seal.p12", password)  # doctest: +SKIP
        >>> client.authenticate(signer, nip="5265877635")  # doctest: +SKIP
        """
        ctx = context_identifier(
            nip=nip,
            internal_id=internal_id,
            nip_vat_ue=nip_vat_ue,
            peppol_id=peppol_id,
            context=context,
        )
        if isinstance(credential, str):
            return authenticate_with_ksef_token(
                self,
                credential.strip(),  # tokens read from files end with a newline
                ctx,
                authorization_policy=authorization_policy,
                timeout=timeout,
            )
        return authenticate_with_xades(
            self,
            credential,
            ctx,
            subject_identifier_type=subject_identifier_type,
            authorization_policy=authorization_policy,
            enforce_xades_compliance=enforce_xades_compliance,
            verify_certificate_chain=verify_certificate_chain,
            timeout=timeout,
        )

    def online_session(
        self,
        form_code: FormCode | str = FormCode.FA3,
        *,
        upo_v43: bool = False,
        preflight: bool = True,
        validate_schema: bool = True,
        max_invoice_size: int = MAX_INVOICE_SIZE,
    ) -> OnlineSession:
        """A new online session (opened by ``with`` or ``session.open()``).

        ``upo_v43`` sends ``X-KSeF-Feature: upo-v4-3``; ``preflight`` runs the encoding and
        size checks before each send, ``validate_schema`` adds the XSD check.
        """
        code = FormCode.parse(form_code) if isinstance(form_code, str) else form_code
        return OnlineSession(
            self,
            code,
            upo_v43=upo_v43,
            preflight=preflight,
            validate_schema=validate_schema,
            max_invoice_size=max_invoice_size,
        )

    def resume_online_session(
        self,
        state: OnlineSessionState | str,
        *,
        preflight: bool = True,
        validate_schema: bool = True,
    ) -> OnlineSession:
        """The session described by ``state`` (a model or its JSON), e.g. in a new process."""
        if isinstance(state, str):
            state = OnlineSessionState.model_validate_json(state)
        return OnlineSession(
            self, state.form, preflight=preflight, validate_schema=validate_schema, state=state
        )

    def batch_session(
        self,
        form_code: FormCode | str = FormCode.FA3,
        *,
        offline_mode: bool = False,
        upo_v43: bool = False,
        state_path: Path | str | None = None,
        parallelism: int = 4,
    ) -> BatchSession:
        """A new batch session: ``session.send(source)`` packages, uploads, waits.

        With ``state_path`` every step is saved there (atomically) so a crashed run can be
        finished by :meth:`resume_batch_session`; ``parallelism`` parts upload at once.

        >>> batch = client.batch_session(state_path="batch.json")  # doctest: +SKIP
        >>> result = batch.send(Path("invoices/"))  # doctest: +SKIP
        """
        code = FormCode.parse(form_code) if isinstance(form_code, str) else form_code
        return BatchSession(
            self,
            code,
            offline_mode=offline_mode,
            upo_v43=upo_v43,
            state_path=Path(state_path) if state_path is not None else None,
            parallelism=parallelism,
        )

    def resume_batch_session(
        self, state_path: Path | str, *, parallelism: int = 4
    ) -> BatchSession:
        """The batch session saved in ``state_path``; ``session.resume()`` finishes it.

        >>> result = client.resume_batch_session("batch.json").resume()  # doctest: +SKIP
        """
        path = Path(state_path)
        try:
            state = BatchSessionState.load(path)
        except FileNotFoundError:
            raise ConfigurationError(
                f"no batch state in {path}: nothing was sent (start with batch_session().send())"
            ) from None
        if state.base_url and state.base_url != self.base_url:
            raise ConfigurationError(
                f"{path} belongs to a session on {state.base_url}, this client uses {self.base_url}"
            )
        return BatchSession(self, state_path=path, parallelism=parallelism, state=state)

    def offline(
        self,
        queue: OfflineQueue | str | PathLike[str],
        *,
        progress: Callable[[OfflineProgress], None] | None = None,
        preflight: bool = False,
        validate_schema: bool = True,
        timeout: float | None = 120.0,
        batch_timeout: float | None = 900.0,
    ) -> OfflineSender:
        """The sender of an offline queue (an :class:`~ksefkit.offline.OfflineQueue` or its
        file): ``send()`` when KSeF is back, ``correct_rejected()`` for technical corrections.
        ``timeout`` bounds the wait for each invoice's verdict, ``batch_timeout`` for a batch.

        >>> result = client.offline("offline.sqlite3").send()  # doctest: +SKIP
        """
        return OfflineSender(
            self,
            queue,
            progress=progress,
            preflight=preflight,
            validate_schema=validate_schema,
            timeout=timeout,
            batch_timeout=batch_timeout,
        )


def context_identifier(
    *,
    nip: str | None = None,
    internal_id: str | None = None,
    nip_vat_ue: str | None = None,
    peppol_id: str | None = None,
    context: AuthenticationContextIdentifier | None = None,
) -> AuthenticationContextIdentifier:
    """Build the ``contextIdentifier`` from exactly one keyword.

    >>> context_identifier(nip="5265877635").type
    'Nip'
    """
    given = {
        "Nip": nip,
        "InternalId": internal_id,
        "NipVatUe": nip_vat_ue,
        "PeppolId": peppol_id,
    }
    chosen = [(k, v) for k, v in given.items() if v is not None]
    if context is not None:
        chosen.append((context.type, context.value))
    if len(chosen) != 1:
        raise ConfigurationError(
            "give exactly one context: nip=, internal_id=, nip_vat_ue=, peppol_id= or context="
        )
    kind, value = chosen[0]
    return AuthenticationContextIdentifier(type=kind, value=value)


def _api_url(base_url: str) -> str:
    url = httpx.URL(base_url)
    if url.path in ("", "/"):
        return str(url.copy_with(path="/v2"))
    return base_url.rstrip("/")


def _ssl_context(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify
