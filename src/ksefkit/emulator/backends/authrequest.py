"""Read an ``AuthTokenRequest`` (auth/token 2.0 or 2.1) the way its XSD would, in code.

The published XSDs cannot be used as they stand (KSEF_API.md §17.2): ``schemat_auth_v2-0.xsd``
uses ``\\b``, which libxml2 does not compile, and ``schemat_auth_v2-1.xsd`` writes ``^``/``$``
into the ``TNipVatUE``/``TPeppolId`` patterns (literal characters in XSD regexes), so a strict
validator rejects the docs' own ``5265877635-ATU12345678``. Neither declares the
``ds:Signature`` every request carries. This module therefore checks the same content model
directly — the sequence ``Challenge, ContextIdentifier (choice of one), SubjectIdentifierType,
AuthorizationPolicy?`` with the XSD's patterns read with .NET semantics (anchors as anchors),
``xsd:token`` whitespace collapsing, no stray text or attributes — and skips
``ds:Signature`` elements. Every violation is 400/21401 with the problems as details. Both
namespaces get the 2.1 IP patterns (the 2.0 ones mean the same where they compile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from ...identifiers import INTERNAL_ID_RE, NIP_RE, NIP_VAT_UE_RE, PEPPOL_ID_RE
from ..errors import bad_request
from .ippolicy import IP4_ADDRESS_RE, IP4_MASK_RE, IP4_RANGE_RE

__all__ = ["AUTH_NAMESPACES", "AuthTokenRequest", "parse_auth_request"]

AUTH_NAMESPACES = ("http://ksef.mf.gov.pl/auth/token/2.0", "http://ksef.mf.gov.pl/auth/token/2.1")
_DS = "http://www.w3.org/2000/09/xmldsig#"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_CHALLENGE_RE = re.compile(r"\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}")
_CONTEXT_RES = {
    "Nip": NIP_RE,
    "InternalId": INTERNAL_ID_RE,
    "NipVatUe": NIP_VAT_UE_RE,
    "PeppolId": PEPPOL_ID_RE,
}
_IP_ELEMENTS = {
    "Ip4Address": ("ip4Addresses", IP4_ADDRESS_RE),
    "Ip4Range": ("ip4Ranges", IP4_RANGE_RE),
    "Ip4Mask": ("ip4Masks", IP4_MASK_RE),
}
_SUBJECT_TYPES = ("certificateSubject", "certificateFingerprint")


@dataclass(frozen=True)
class AuthTokenRequest:
    """The content of a schema-valid AuthTokenRequest."""

    namespace: str
    challenge: str
    context_type: str
    context_value: str
    subject_identifier_type: str
    #: ``{ip4Addresses, ip4Ranges, ip4Masks}`` or None without ``AuthorizationPolicy``.
    allowed_ips: dict[str, list[str]] | None = field(default=None)


class _Invalid(Exception):
    pass


def parse_auth_request(root: etree._Element) -> AuthTokenRequest:
    """Check ``root`` against the AuthTokenRequest content model; 400/21401 when it fails.

    >>> ns = AUTH_NAMESPACES[1]
    >>> doc = etree.fromstring(
    ...     f'<AuthTokenRequest xmlns="{ns}"><Challenge>20250625-CR-20F5EE4000-DA48AE4124-46'
    ...     '</Challenge><ContextIdentifier><Nip>5265877635</Nip></ContextIdentifier>'
    ...     '<SubjectIdentifierType>certificateSubject</SubjectIdentifierType></AuthTokenRequest>')
    >>> parse_auth_request(doc).context_value
    '5265877635'
    >>> parse_auth_request(etree.fromstring("<AuthTokenRequest/>"))
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21401: Dokument nie jest zgodny ze schemą (xsd).
    """
    try:
        return _parse(root)
    except _Invalid as exc:
        raise bad_request(21401, str(exc)) from None


def _parse(root: etree._Element) -> AuthTokenRequest:
    qname = etree.QName(root)
    if qname.namespace not in AUTH_NAMESPACES or qname.localname != "AuthTokenRequest":
        raise _Invalid(
            f"Element główny {{{qname.namespace or ''}}}{qname.localname} nie jest"
            f" AuthTokenRequest w przestrzeni nazw {' ani '.join(AUTH_NAMESPACES)}."
        )
    ns = qname.namespace
    _no_attributes(root)
    children = _children(root, skip_signature=True)
    names = [etree.QName(c).localname for c in children]
    expected = ["Challenge", "ContextIdentifier", "SubjectIdentifierType"]
    if names[:3] != expected or names[3:] not in ([], ["AuthorizationPolicy"]):
        raise _Invalid(
            f"AuthTokenRequest: oczekiwano elementów {expected} (+ AuthorizationPolicy),"
            f" otrzymano {names}."
        )
    for child in children:
        if etree.QName(child).namespace != ns:
            raise _Invalid(f"Element {child.tag} spoza przestrzeni nazw {ns}.")
    challenge = _token(_leaf(children[0]))
    if len(challenge) != 36 or not _CHALLENGE_RE.fullmatch(challenge):
        raise _Invalid(f"Challenge: {challenge!r} nie jest poprawnym wyzwaniem.")
    context_type, context_value = _context(children[1])
    subject_type = _token(_leaf(children[2]))
    if subject_type not in _SUBJECT_TYPES:
        raise _Invalid(f"SubjectIdentifierType: {subject_type!r} spoza {list(_SUBJECT_TYPES)}.")
    policy = _policy(children[3]) if len(children) == 4 else None
    return AuthTokenRequest(ns, challenge, context_type, context_value, subject_type, policy)


def _children(element: etree._Element, *, skip_signature: bool = False) -> list[etree._Element]:
    """Element children (comments/PIs ignored); non-blank text between them is invalid."""
    if (element.text or "").strip():
        raise _Invalid(f"Element {etree.QName(element).localname} nie może zawierać tekstu.")
    out = []
    for child in element:
        if (child.tail or "").strip():
            raise _Invalid(f"Tekst po elemencie w {etree.QName(element).localname}.")
        if not isinstance(child.tag, str):
            continue  # comment or processing instruction
        if skip_signature and etree.QName(child).namespace == _DS:
            if etree.QName(child).localname != "Signature":
                raise _Invalid(f"Nieoczekiwany element {child.tag}.")
            continue
        out.append(child)
    return out


def _no_attributes(element: etree._Element) -> None:
    for name in element.attrib:
        attribute = etree.QName(name)
        if attribute.namespace != _XSI:
            raise _Invalid(
                f"Niedozwolony atrybut {attribute.text} w {etree.QName(element).localname}."
            )


def _leaf(element: etree._Element) -> str:
    _no_attributes(element)
    if any(isinstance(c.tag, str) for c in element):
        raise _Invalid(f"Element {etree.QName(element).localname} nie może mieć podelementów.")
    return "".join(str(t) for t in element.itertext())


def _token(text: str) -> str:
    """``xsd:token`` whitespace handling: collapse runs, strip the ends."""
    return " ".join(text.split())


def _context(element: etree._Element) -> tuple[str, str]:
    _no_attributes(element)
    children = _children(element)
    if len(children) != 1 or etree.QName(children[0]).localname not in _CONTEXT_RES:
        raise _Invalid(f"ContextIdentifier: oczekiwano jednego z {list(_CONTEXT_RES)}.")
    kind = etree.QName(children[0]).localname
    if etree.QName(children[0]).namespace != etree.QName(element).namespace:
        raise _Invalid(f"ContextIdentifier/{kind}: zła przestrzeń nazw.")
    value = _leaf(children[0])  # xsd:string: whitespace preserved, so padding fails the pattern
    if not (value.isascii() and _CONTEXT_RES[kind].fullmatch(value)):
        raise _Invalid(f"ContextIdentifier/{kind}: {value!r} nie pasuje do wzorca.")
    return kind, value


def _policy(element: etree._Element) -> dict[str, list[str]]:
    _no_attributes(element)
    children = _children(element)
    if [etree.QName(c).localname for c in children] != ["AllowedIps"]:
        raise _Invalid("AuthorizationPolicy: oczekiwano dokładnie jednego AllowedIps.")
    _no_attributes(children[0])
    out: dict[str, list[str]] = {"ip4Addresses": [], "ip4Ranges": [], "ip4Masks": []}
    order = list(_IP_ELEMENTS)
    last = 0
    ns = etree.QName(element).namespace
    for item in _children(children[0]):
        name = etree.QName(item).localname
        if name not in _IP_ELEMENTS or etree.QName(item).namespace != ns:
            raise _Invalid(f"AllowedIps: nieoczekiwany element {item.tag}.")
        if order.index(name) < last:
            raise _Invalid(f"AllowedIps: {name} w złej kolejności (Ip4Address, Ip4Range, Ip4Mask).")
        last = order.index(name)
        key, pattern = _IP_ELEMENTS[name]
        value = _token(_leaf(item))
        if not pattern.fullmatch(value):
            raise _Invalid(f"AllowedIps/{name}: {value!r} nie pasuje do wzorca.")
        out[key].append(value)
        if len(out[key]) > 10:
            raise _Invalid(f"AllowedIps: więcej niż 10 elementów {name}.")
    return out
