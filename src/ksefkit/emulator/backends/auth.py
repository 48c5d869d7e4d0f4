"""Authentication rules: challenges, KSeF-token and XAdES auth, JWTs, redeem/refresh, bearers.

Flow (KSEF_API.md §4): ``challenge`` → ``init_token_auth`` / ``init_xades_auth`` (202,
operation status 100; the XAdES checks live in :mod:`.xades_auth`) → the processor calls
``complete``: a blocked context is 480 for both methods; a KSeF token is decrypted and checked
(timestamp, existence, ``Active``, context → 450) and gives its own permissions as far as
its author still holds them in the context (none left → 415); a XAdES subject gets what
:mod:`.rights` says (none → 415) → ``redeem`` once → ``refresh``
(refused with 21301 once the session is revoked, status 425, or its KSeF token is).
Tokens are HS256 JWTs carrying the permissions, the subject (``subject-details`` with its real
type: Nip, Pesel or Fingerprint), the method and the ``AuthorizationPolicy`` IP lists, so they
stay valid until ``exp`` even if permissions change (as KSeF documents), and :meth:`verify`
enforces the IP policy on every request (403 ``ip-not-allowed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from ...crypto import rsa_oaep_decrypt
from ...errors import DecryptionError
from ...identifiers import NIP_RE
from .. import jwt
from ..clock import isoformat, parse_datetime
from ..errors import KsefApiError, bad_request, forbidden, gone, unauthorized, validation_error
from ..keys import TOKEN_KEY
from . import Base64Str, ChallengeStr, Sha256Base64, b64decode_strict, dumps, loads_list, parse_body
from .ippolicy import enforce as enforce_ip_policy
from .ippolicy import policy_from
from .rights import OWNER_PERMISSIONS
from .xades_auth import Verdict, XadesAuth, method_info

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["ALL_TOKEN_PERMISSIONS", "AuthBackend", "Claims", "SeededSubject"]

ALL_TOKEN_PERMISSIONS = OWNER_PERMISSIONS
TokenType = Literal["OperationToken", "ContextToken", "RefreshToken"]
_ISSUER = "ksefkit-emulator"
_FAILED_TOKEN = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu"  # noqa: S105
_RETENTION = dt.timedelta(days=7)
_BLOCKED = Verdict(
    480,
    "Uwierzytelnienie zablokowane",
    "Podejrzenie incydentu bezpieczeństwa. Skontaktuj się z Ministerstwem Finansów przez"
    " formularz zgłoszeniowy.",
)
_DECEASED = Verdict(
    470,
    "Uwierzytelnianie zakończone niepowodzeniem",
    "Próba wykorzystania metod autoryzacyjnych osoby zmarłej",
)
#: Method codes of a person's own signature (their NIP then identifies the person).
_PERSONAL_SIGNATURES = ("xades.qualified-signature", "xades.self-signed-signature")
_NO_PERMISSIONS = Verdict(
    415, "Uwierzytelnianie zakończone niepowodzeniem", "Brak przypisanych uprawnień"
)


@dataclass(frozen=True)
class SeededSubject:
    """A test company: its NIP, a KSeF token with owner permissions and the token's reference."""

    nip: str
    token: str = field(repr=False)
    token_reference: str


@dataclass(frozen=True)
class Claims:
    """The verified contents of a bearer JWT."""

    token_type: str
    reference_number: str
    context_type: str
    context_value: str
    subject_value: str
    permissions: tuple[str, ...]
    expires: dt.datetime
    subject_type: str = "Nip"
    #: ``authenticationMethodInfo.category`` of the authentication (Token, XadesSignature).
    method_category: str = "Token"
    ip_policy: dict[str, Any] | None = None


class _ContextIdentifier(BaseModel):
    type: Literal["Nip", "InternalId", "NipVatUe", "PeppolId"]
    value: str


class _InitTokenRequest(BaseModel):
    challenge: ChallengeStr
    contextIdentifier: _ContextIdentifier
    encryptedToken: Base64Str
    publicKeyId: Sha256Base64 | None = None
    authorizationPolicy: dict[str, Any] | None = None


class AuthBackend:
    """Authentication state and rules over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self.xades = XadesAuth(state)

    # -- test data -------------------------------------------------------------------------

    def create_subject(
        self, nip: str | None = None, permissions: list[str] | None = None
    ) -> SeededSubject:
        """A company context (owner permissions for itself) and a KSeF token for it."""
        nip = nip or self._state.ids.nip()
        if not NIP_RE.match(nip):
            raise validation_error(f"nip: {nip!r} nie jest poprawnym numerem NIP.")
        perms = list(permissions) if permissions is not None else list(ALL_TOKEN_PERMISSIONS)
        unknown = sorted(set(perms) - set(ALL_TOKEN_PERMISSIONS))
        if unknown:
            raise validation_error(f"permissions: nieznane uprawnienia {unknown}.")
        reference = self._state.ids.reference("EC", self._state.today())
        token = f"{reference}|nip-{nip}|{self._state.ids.secret()}"
        now = isoformat(self._state.clock.now())
        with self._store.tx():
            for perm in ALL_TOKEN_PERMISSIONS:
                self._store.run(
                    "INSERT OR IGNORE INTO permissions VALUES ('Nip', ?, 'Nip', ?, ?)",
                    (nip, nip, perm),
                )
            self._store.run(
                "INSERT INTO ksef_tokens (reference_number, token_hash, context_type,"
                " context_value, subject_type, subject_value, permissions, description, status,"
                " created, status_changed) VALUES (?, ?, 'Nip', ?, 'Nip', ?, ?, ?, 'Active', ?, ?)",
                (reference, token_hash(token), nip, nip, dumps(perms), "emulator seed", now, now),
            )
        return SeededSubject(nip=nip, token=token, token_reference=reference)

    # -- challenge and init ----------------------------------------------------------------

    def challenge(self, client_ip: str) -> dict[str, Any]:
        """``POST /auth/challenge``: a single-use challenge valid for ``challenge_ttl``."""
        now = self._state.clock.now()
        code = f"{now:%Y%m%d}-CR-{self._state.ids.hex(10)}-{self._state.ids.hex(10)}-"
        code += self._state.ids.hex(2)
        millis = int(now.timestamp() * 1000)
        self._store.run(
            "INSERT INTO challenges VALUES (?, ?, ?, ?, 0)",
            (code, isoformat(now), millis, client_ip),
        )
        return {
            "challenge": code,
            "timestamp": isoformat(now),
            "timestampMs": millis,
            "clientIp": client_ip,
        }

    def init_token_auth(self, body: object, client_ip: str) -> dict[str, Any]:
        """``POST /auth/ksef-token``: check the challenge and key id, start the operation."""
        req = parse_body(_InitTokenRequest, body)
        encrypted = b64decode_strict(req.encryptedToken, "encryptedToken")
        policy = policy_from(req.authorizationPolicy)
        if req.publicKeyId is not None:
            self._state.keys.private_key(TOKEN_KEY, req.publicKeyId)  # 21470 if unknown
        row = {
            "context_type": req.contextIdentifier.type,
            "context_value": req.contextIdentifier.value,
            "method": "Token",
            "method_code": "token.ksef",
            "encrypted_token": encrypted,
            "key_id": req.publicKeyId,
        }
        return self._start(req.challenge, row, policy, client_ip)

    def init_xades_auth(
        self, body: bytes, client_ip: str, *, verify_chain: bool = False
    ) -> dict[str, Any]:
        """``POST /auth/xades-signature``: verify the signed request, start the operation."""
        checked = self.xades.start(body, verify_chain=verify_chain)
        request = checked["request"]
        method, _ = method_info(checked["method_code"])
        row = {
            "context_type": request.context_type,
            "context_value": request.context_value,
            "method": method,
            "method_code": checked["method_code"],
            "subject_type": checked["subject_type"],
            "subject_value": checked["subject_value"],
            "certificate": checked["certificate"],
            "verify_chain": checked["verify_chain"],
            "auth_document_hash": checked["document_hash"],
        }
        return self._start(request.challenge, row, request.allowed_ips, client_ip)

    def _start(
        self,
        challenge: str,
        row: dict[str, Any],
        policy: dict[str, list[str]] | None,
        client_ip: str,
    ) -> dict[str, Any]:
        """Consume the challenge, insert the operation (status 100), issue its token."""
        now = self._state.clock.now()
        with self._store.tx():
            millis = self._consume_challenge(challenge, now)
            reference = self._state.ids.reference("AU", self._state.today())
            values = {
                **row,
                "reference_number": reference,
                "start_date": isoformat(now),
                "challenge": challenge,
                "timestamp_ms": millis,
                "status_code": 100,
                "status_description": "Uwierzytelnianie w toku",
                "client_ip": client_ip,
                "ip_policy": None if policy is None else dumps(policy),
            }
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            self._store.run(
                f"INSERT INTO auth_operations ({columns}) VALUES ({marks})",  # noqa: S608
                list(values.values()),
            )
        token, until = self._issue(
            "OperationToken",
            reference,
            row["context_type"],
            row["context_value"],
            self._state.config.operation_token_lifetime,
        )
        if self._state.config.processing == "background":
            self._state.processor.kick()
        else:
            # Manual mode holds back invoice processing only; SDK waits expect auth to finish.
            self.complete(reference)
        return {"referenceNumber": reference, "authenticationToken": _info(token, until)}

    def _consume_challenge(self, challenge: str, now: dt.datetime) -> int:
        row = self._store.one("SELECT * FROM challenges WHERE challenge = ?", (challenge,))
        if row is None or row["used"]:
            raise bad_request(21111, "Wyzwanie nie istnieje lub zostało już użyte.")
        age = (now - parse_datetime(row["timestamp"])).total_seconds()
        if age > self._state.config.challenge_ttl:
            raise bad_request(21111, "Wyzwanie autoryzacyjne wygasło.")
        self._store.run("UPDATE challenges SET used = 1 WHERE challenge = ?", (challenge,))
        return int(row["timestamp_ms"])

    # -- asynchronous part -----------------------------------------------------------------

    def pending(self) -> list[tuple[str, str]]:
        """``(referenceNumber, startDate)`` of operations still at status 100."""
        rows = self._store.all(
            "SELECT reference_number, start_date FROM auth_operations WHERE status_code = 100"
            " ORDER BY start_date"
        )
        return [(r["reference_number"], r["start_date"]) for r in rows]

    def complete(self, reference: str) -> None:
        """Decide the outcome of a pending authentication (KSeF token or XAdES)."""
        row = self._store.one(
            "SELECT * FROM auth_operations WHERE reference_number = ? AND status_code = 100",
            (reference,),
        )
        if row is None:
            return
        if self._state.rights.is_blocked(row["context_type"], row["context_value"]):
            verdict = _BLOCKED
        elif self._deceased(row["subject_type"], row["subject_value"], row["method_code"]):
            verdict = _DECEASED  # the subject of a certificate
        elif row["method"] == "Token":
            verdict = self._evaluate_token(row)
        else:
            verdict = self.xades.evaluate(row)
        if verdict.code == 200 and self._deceased(
            verdict.subject_type, verdict.subject_value, row["method_code"]
        ):
            verdict = _DECEASED  # a KSeF token created by the person
        with self._store.tx():
            if verdict.code != 200:
                self._store.run(
                    "UPDATE auth_operations SET status_code = ?, status_description = ?,"
                    " status_details = ? WHERE reference_number = ?",
                    (verdict.code, verdict.description, dumps([verdict.detail]), reference),
                )
                return
            self._store.run(
                "UPDATE auth_operations SET status_code = 200, status_description = ?,"
                " subject_type = ?, subject_value = ?, token_reference = ?, permissions = ?"
                " WHERE reference_number = ?",
                (
                    verdict.description,
                    verdict.subject_type,
                    verdict.subject_value,
                    verdict.token_reference,
                    dumps(list(verdict.permissions)),
                    reference,
                ),
            )
            if verdict.token_reference:
                self._store.run(
                    "UPDATE ksef_tokens SET last_use = ? WHERE reference_number = ?",
                    (isoformat(self._state.clock.now()), verdict.token_reference),
                )
        if row["context_type"] == "PeppolId" and row["certificate"] is not None:
            # The first authentication of a Peppol provider registers it (/peppol/query).
            self._state.peppol.register_certificate(row["context_value"], bytes(row["certificate"]))

    def _evaluate_token(self, op: Any) -> Verdict:
        try:
            key = self._state.keys.private_key(TOKEN_KEY, op["key_id"])
            plain = rsa_oaep_decrypt(key, bytes(op["encrypted_token"])).decode("utf-8")
        except (KsefApiError, DecryptionError):
            return Verdict(450, _FAILED_TOKEN, "Nieprawidłowe szyfrowanie tokena")
        except UnicodeDecodeError:
            return Verdict(450, _FAILED_TOKEN, "Nieprawidłowe kodowanie tokena")
        token, _, stamp = plain.rpartition("|")
        if stamp != str(op["timestamp_ms"]):
            return Verdict(450, _FAILED_TOKEN, "Nieprawidłowy czas tokena")
        row = self._store.one(
            "SELECT * FROM ksef_tokens WHERE token_hash = ?", (token_hash(token),)
        )
        if row is None:
            return Verdict(450, _FAILED_TOKEN, "Nieprawidłowy token")
        if row["status"] in ("Revoking", "Revoked"):
            return Verdict(450, _FAILED_TOKEN, "Token unieważniony")
        if row["status"] != "Active":
            return Verdict(450, _FAILED_TOKEN, "Token nieaktywny")
        if (row["context_type"], row["context_value"]) != (op["context_type"], op["context_value"]):
            ctx = f"{op['context_type']}:{op['context_value']}"
            return Verdict(450, _FAILED_TOKEN, f"Token nie może być użyty w kontekście {ctx}")
        # A token gives no more than its author still holds in the context: revoking the
        # author's permissions takes them from the author's tokens too (KSEF_API.md §4.1).
        held = set(
            self._state.rights.permissions(
                row["context_type"], row["context_value"], row["subject_type"], row["subject_value"]
            )
        )
        perms = tuple(p for p in json.loads(row["permissions"]) if p in held)
        if not perms:
            return _NO_PERMISSIONS
        return Verdict(
            200,
            subject_type=row["subject_type"],
            subject_value=row["subject_value"],
            permissions=perms,
            token_reference=row["reference_number"],
        )

    # -- status, redeem, refresh -----------------------------------------------------------

    def status(self, reference: str, claims: Claims) -> dict[str, Any]:
        """``GET /auth/{referenceNumber}`` (bearer: the operation's authenticationToken)."""
        row = self._operation(reference)
        if claims.reference_number != reference:
            raise forbidden("insufficient-resource-access", "Brak dostępu do wskazanego zasobu.")
        return status_body(row)

    def redeem(self, claims: Claims) -> dict[str, Any]:
        """``POST /auth/token/redeem``: access + refresh token, exactly once."""
        reference = claims.reference_number
        with self._store.tx():
            row = self._operation(reference)
            if row["redeemed"]:
                raise bad_request(
                    21301, f"Tokeny dla operacji uwierzytelniania {reference} zostały już pobrane."
                )
            if row["status_code"] != 200:
                raise bad_request(21301, _status_forbids(row["status_code"], "pobranie tokenów"))
            self._refuse_deceased(row)
            refresh, refresh_until = self._context_token(row, "RefreshToken")
            self._store.run(
                "UPDATE auth_operations SET redeemed = 1, refresh_valid_until = ?"
                " WHERE reference_number = ?",
                (isoformat(refresh_until), reference),
            )
        access, access_until = self._context_token(row, "ContextToken")
        return {
            "accessToken": _info(access, access_until),
            "refreshToken": _info(refresh, refresh_until),
        }

    def refresh(self, claims: Claims) -> dict[str, Any]:
        """``POST /auth/token/refresh`` (bearer: refresh token) → a new access token."""
        row = self._operation(claims.reference_number)
        if row["status_code"] != 200:
            raise bad_request(
                21301, _status_forbids(row["status_code"], "odświeżenie tokenu dostępowego")
            )
        if row["token_reference"] and not self._ksef_token_active(row["token_reference"]):
            raise bad_request(21301, "Token KSeF został unieważniony.")
        self._refuse_deceased(row)
        access, until = self._context_token(row, "ContextToken")
        self._store.run(
            "UPDATE auth_operations SET last_refresh = ? WHERE reference_number = ?",
            (isoformat(self._state.clock.now()), claims.reference_number),
        )
        return {"accessToken": _info(access, until)}

    def _deceased(self, subject_type: str | None, subject_value: str | None, method: str) -> bool:
        """Whether the subject is a deceased test person (a NIP only in a personal signature)."""
        personal = method in _PERSONAL_SIGNATURES
        return self._state.testdata.is_deceased(subject_type, subject_value, personal=personal)

    def _refuse_deceased(self, row: Any) -> None:
        """21308 for the tokens of a person test data now marks deceased."""
        if self._deceased(row["subject_type"], row["subject_value"], row["method_code"]):
            raise bad_request(21308)

    def _ksef_token_active(self, reference: str) -> bool:
        row = self._store.one(
            "SELECT status FROM ksef_tokens WHERE reference_number = ?", (reference,)
        )
        return row is not None and row["status"] == "Active"

    def _operation(self, reference: str) -> Any:
        row = self._store.one(
            "SELECT * FROM auth_operations WHERE reference_number = ?", (reference,)
        )
        if row is None:
            raise bad_request(
                21304,
                f"Operacja uwierzytelniania o numerze referencyjnym {reference} nie została"
                " znaleziona.",
            )
        if self._state.clock.now() - parse_datetime(row["start_date"]) > _RETENTION:
            raise gone(f"Operacja uwierzytelniania {reference} wygasła.")
        return row

    # -- JWTs ------------------------------------------------------------------------------

    def _context_token(self, op: Any, token_type: TokenType) -> tuple[str, dt.datetime]:
        config = self._state.config
        lifetime = (
            config.refresh_token_lifetime
            if token_type == "RefreshToken"  # noqa: S105 - a token kind, not a secret
            else config.access_token_lifetime
        )
        method, info = method_info(op["method_code"])
        extra: dict[str, Any] = {
            "authentication-method": method,
            "authentication-method-category": info["category"],
            "subject-details": json.dumps(
                {"SubjectIdentifier": {"Type": op["subject_type"], "Value": op["subject_value"]}}
            ),
            "permissions": json.loads(op["permissions"] or "[]"),
        }
        if op["ip_policy"]:
            extra["ip-policy"] = json.loads(op["ip_policy"])
        return self._issue(
            token_type,
            op["reference_number"],
            op["context_type"],
            op["context_value"],
            lifetime,
            extra,
        )

    def _issue(
        self,
        token_type: TokenType,
        reference: str,
        context_type: str,
        context_value: str,
        lifetime: float,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, dt.datetime]:
        now = self._state.clock.now()
        until = now + dt.timedelta(seconds=lifetime)
        claims: dict[str, Any] = {
            "token-type": token_type,
            "operation-reference-number": reference,
            "context-identifier-type": context_type,
            "context-identifier-value": context_value,
            **(extra or {}),
            # exp/iat are whole seconds (JWT NumericDate); validUntil uses the same instant.
            "exp": int(until.timestamp()),
            "iat": int(now.timestamp()),
            "jti": self._state.ids.hex(32).lower(),
            "iss": _ISSUER,
            "aud": _ISSUER,
        }
        exact_until = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
        return jwt.encode(claims, self._state.jwt_secret), exact_until

    def verify(
        self, authorization: str | None, *accepted: TokenType, client_ip: str | None = None
    ) -> Claims:
        """Check a ``Authorization: Bearer`` header: signature, expiry and token type (401),
        then the token's IP policy against ``client_ip`` (403 ``ip-not-allowed``)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthorized("Wymagane jest uwierzytelnienie.")
        try:
            raw = jwt.decode(authorization[7:].strip(), self._state.jwt_secret)
        except jwt.JwtError:
            raise unauthorized("Nieprawidłowy token.") from None
        expires = dt.datetime.fromtimestamp(float(raw.get("exp", 0)), dt.UTC)
        if expires <= self._state.clock.now():
            raise unauthorized("Token wygasł.")
        if raw.get("token-type") not in accepted:
            raise unauthorized("Nieprawidłowy typ tokena.")
        subject = json.loads(raw.get("subject-details") or "{}").get("SubjectIdentifier", {})
        policy = raw.get("ip-policy")
        enforce_ip_policy(policy, client_ip)
        return Claims(
            token_type=str(raw["token-type"]),
            reference_number=str(raw.get("operation-reference-number", "")),
            context_type=str(raw.get("context-identifier-type", "")),
            context_value=str(raw.get("context-identifier-value", "")),
            subject_value=str(subject.get("Value") or ""),
            permissions=tuple(raw.get("permissions") or ()),
            expires=expires,
            subject_type=str(subject.get("Type") or "Nip"),
            method_category=str(raw.get("authentication-method-category") or "Token"),
            ip_policy=policy if isinstance(policy, dict) else None,
        )

    def require(self, claims: Claims, any_of: tuple[str, ...]) -> None:
        """403 ``missing-permissions`` unless the token holds one of ``any_of``."""
        if not set(any_of) & set(claims.permissions):
            raise forbidden(
                "missing-permissions",
                "Brak wymaganych uprawnień do wykonania operacji w bieżącym kontekście.",
                {
                    "requiredAnyOfPermissions": list(any_of),
                    "presentPermissions": list(claims.permissions),
                },
            )


def token_hash(token: str) -> str:
    """How KSeF tokens are stored: SHA-256 hex of the token (the secret is never kept)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _info(token: str, until: dt.datetime) -> dict[str, str]:
    return {"token": token, "validUntil": isoformat(until)}


def status_body(row: Any) -> dict[str, Any]:
    """The ``AuthenticationOperationStatusResponse`` fields of an operation row."""
    method, info = method_info(row["method_code"])
    body: dict[str, Any] = {
        "startDate": row["start_date"],
        "authenticationMethod": method,
        "authenticationMethodInfo": info,
        "status": _status(row),
        "isTokenRedeemed": bool(row["redeemed"]),
    }
    if row["last_refresh"]:
        body["lastTokenRefreshDate"] = row["last_refresh"]
    if row["refresh_valid_until"]:
        body["refreshTokenValidUntil"] = row["refresh_valid_until"]
    return body


def _status(row: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"code": row["status_code"], "description": row["status_description"]}
    details = loads_list(row["status_details"])
    if details:
        status["details"] = details
    return status


def _status_forbids(code: int, what: str) -> str:
    return f"Status uwierzytelniania ({code}) nie pozwala na {what}."
