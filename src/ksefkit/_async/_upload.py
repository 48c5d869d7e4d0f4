"""Upload batch parts to their pre-signed storage links: streamed, parallel, retried.

Each part goes with exactly the ``method``, ``url`` and ``headers`` KSeF gave, its body
streamed from the part file with a ``Content-Length`` (never read whole into memory), no
``Authorization`` header and none of the client-wide API headers. Uploads are idempotent
(the same bytes to the same blob), so transport errors, 408, 429 and 5xx are retried with
backoff by the client's retry policy (``RetryPolicy.classify``, the same decider as for API
calls); 400/401/403/404 raise :class:`~ksefkit.errors.StorageError` at once (403 after the
upload window is ``expired``). Storage links are not rate-limited by KSeF, so uploads never
wait for the client-side limiter. The signature part of a link is never logged or shown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from .. import _parallel, _polling
from .._http import AuthKind, Operation, parse_retry_after, redact_url, storage_error_detail
from .._retry import Decision, RetryPolicy
from ..errors import KsefError, StorageError, TransportError

__all__ = ["PartUpload", "redact_url", "upload_parts"]

log = logging.getLogger("ksefkit.upload")

CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class PartUpload:
    """One part to send: where (``method``, ``url``, ``headers``) and what (``path``, ``size``)."""

    ordinal_number: int
    method: str
    url: str
    headers: Mapping[str, str]
    path: Path
    size: int
    #: When KSeF stops accepting uploads for this session (None: unknown).
    valid_until: datetime | None = None

    def __repr__(self) -> str:
        return f"<PartUpload {self.ordinal_number} {self.method} {redact_url(self.url)}>"


async def upload_parts(
    http: httpx.AsyncClient,
    parts: Sequence[PartUpload],
    *,
    retry: RetryPolicy,
    parallelism: int = 4,
    on_uploaded: Callable[[int], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    total_bytes: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> None:
    """Upload every part, ``parallelism`` at a time; ``on_uploaded(ordinal)`` after each 201.

    ``progress(done_bytes, total_bytes)`` follows the bytes sent (``total_bytes`` defaults
    to the sum of ``parts``; pass the package size to count parts sent earlier as done).
    After the first part that fails for good no new upload starts; the running ones
    finish (and are reported), then the failure is raised.

    >>> await upload_parts(http, parts, retry=RetryPolicy(), parallelism=4)  # doctest: +SKIP
    """
    todo = sum(p.size for p in parts)
    counter = _parallel.ProgressCounter(total_bytes or todo, progress)
    counter.skip(counter.total - todo)

    async def one(part: PartUpload) -> int:
        await upload_part(http, part, retry=retry, counter=counter, timeout=timeout)
        counter.finish(part.ordinal_number)
        return part.ordinal_number

    def done(part: PartUpload, ordinal: int) -> None:
        if on_uploaded is not None:
            on_uploaded(ordinal)

    await _parallel.async_run_bounded(list(parts), one, done, limit=parallelism)


async def upload_part(
    http: httpx.AsyncClient,
    part: PartUpload,
    *,
    retry: RetryPolicy,
    counter: _parallel.ProgressCounter | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> None:
    """Upload one part, retrying what may succeed on another try."""
    # Same bytes to the same blob: an upload is idempotent.
    operation = Operation(part.method, redact_url(part.url), AuthKind.NONE, idempotent=True)
    attempt = 0
    while True:
        attempt += 1
        try:
            await _send_once(http, part, counter, timeout)
            return
        except (TransportError, StorageError) as error:
            if counter is not None:
                counter.reset(part.ordinal_number)
            if retry.classify(operation, error, attempt) is not Decision.RETRY:
                raise _final(error, part) from error
            delay = retry.delay(error, attempt)
            log.info(
                "retrying upload of part %d after %s (attempt %d, %.2fs)",
                part.ordinal_number,
                error,
                attempt,
                delay,
            )
            await _polling.async_sleep(delay)


async def _send_once(
    http: httpx.AsyncClient,
    part: PartUpload,
    counter: _parallel.ProgressCounter | None,
    timeout: float | httpx.Timeout | None,
) -> None:
    headers = {k: v for k, v in part.headers.items() if v is not None}
    headers["Content-Length"] = str(part.size)  # storage wants a length, not chunked encoding
    body = _FileBody(part.path, part.ordinal_number, counter)
    try:
        request = http.build_request(part.method, part.url, content=body, headers=headers)
        # Storage must never see the API token, even one set as a default on an injected client.
        request.headers.pop("Authorization", None)
        if timeout is not None:
            request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        try:
            response = await http.send(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise TransportError(
                f"{type(exc).__name__} uploading part {part.ordinal_number}",
                operation=f"{part.method} {redact_url(part.url)}",
            ) from None  # httpx's exception text may carry the signed link
    finally:
        body.close()
    if response.status_code >= 400:
        raise _storage_error(response, part)


class _FileBody:
    """The part file as a request body, read in chunks as the connection takes them."""

    def __init__(self, path: Path, ordinal: int, counter: _parallel.ProgressCounter | None) -> None:
        self._file = path.open("rb")
        self._ordinal = ordinal
        self._counter = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := self._file.read(CHUNK_SIZE):
            if self._counter is not None:
                self._counter.add(self._ordinal, len(chunk))
            yield chunk

    def close(self) -> None:
        self._file.close()


def _storage_error(response: httpx.Response, part: PartUpload) -> StorageError:
    status = response.status_code
    code, message = storage_error_detail(response)
    expired = status == 403 and _expired(part, message)
    what = f"upload of part {part.ordinal_number} to {redact_url(part.url)}"
    if expired:
        text = (
            f"{what} refused (HTTP 403): the upload window expired "
            "(20 min x number of parts after opening); open a new batch session"
        )
    elif status in (401, 403):
        text = f"{what} refused (HTTP {status}): the link is not valid (signature or permission)"
    elif status == 400:
        text = f"{what} rejected (HTTP 400): storage refused the data (size, hash or headers)"
    else:
        text = f"{what} failed (HTTP {status})"
    if code or message:
        text += f" [{': '.join(x for x in (code, message) if x)}]"
    return StorageError(
        text,
        status_code=status,
        ordinal_number=part.ordinal_number,
        expired=expired,
        error_code=code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def _expired(part: PartUpload, message: str | None) -> bool:
    said = (message or "").lower()
    if "expir" in said or "time frame" in said:
        return True
    now = datetime.now(UTC)
    return part.valid_until is not None and now >= part.valid_until


def _final(error: KsefError, part: PartUpload) -> StorageError:
    if isinstance(error, StorageError):
        return error
    return StorageError(
        f"upload of part {part.ordinal_number} to {redact_url(part.url)} failed: {error}",
        ordinal_number=part.ordinal_number,
    )
