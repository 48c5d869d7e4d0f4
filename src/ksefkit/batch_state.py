"""Batch-session state that survives a crash: a pydantic model saved atomically as JSON.

The batch workflow saves it after every step (package built, session opened, each part
uploaded, session closed), so whatever moment a process dies at, the file on disk describes
a consistent point to continue from (:meth:`AsyncClient.resume_batch_session`).

The JSON holds the session's AES key and the pre-signed upload links: store it as you would
store a password (it is written with mode 0600). ``repr`` and ``str`` show neither.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer

from .crypto import SymmetricKey
from .formcodes import FormCode

__all__ = ["UPLOAD_WINDOW_PER_PART", "BatchSessionState", "PartUploadState"]

#: KSeF accepts uploads for 20 minutes per declared part after opening (KSEF_API.md §6.3).
UPLOAD_WINDOW_PER_PART = timedelta(minutes=20)


class PartUploadState(BaseModel):
    """Where one part goes: KSeF's ``PartUploadRequest`` with the link kept secret."""

    model_config = ConfigDict(frozen=True)

    ordinal_number: int
    method: str
    url: SecretStr
    headers: dict[str, str] = Field(default_factory=dict)

    @field_serializer("url", when_used="json")
    def _reveal_url(self, value: SecretStr) -> str:
        return value.get_secret_value()


class BatchSessionState(BaseModel):
    """Everything needed to finish a batch session in another process.

    ``reference_number`` is None until the session is opened; ``uploaded`` lists the parts
    storage confirmed (201); ``closed`` turns True once KSeF accepted the close.

    >>> state = BatchSessionState.load("batch.json")  # doctest: +SKIP
    >>> state.reference_number, state.missing_parts()  # doctest: +SKIP
    ('20250625-SB-...', [3, 4])
    """

    model_config = ConfigDict(frozen=True)

    kind: str = "batch"
    version: int = 1
    form_code: str
    symmetric_key: SecretStr
    initialization_vector: str
    offline_mode: bool = False
    upo_v43: bool = False
    base_url: str | None = None
    #: ``BatchPackage.to_dict()``: archive size/hash, the parts on disk, the invoices.
    package: dict[str, Any]
    #: Ordinal numbers of the package's parts (1..n).
    part_ordinals: tuple[int, ...]
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    reference_number: str | None = None
    opened_at: datetime | None = None
    part_uploads: tuple[PartUploadState, ...] = ()
    uploaded: tuple[int, ...] = ()
    closed: bool = False
    #: Sessions opened earlier for this package and abandoned unclosed (their upload window
    #: expired); KSeF cancels them, none of their invoices is processed.
    abandoned: tuple[str, ...] = ()

    @field_serializer("symmetric_key", when_used="json")
    def _reveal_key(self, value: SecretStr) -> str:
        # JSON is the persistence format: it must carry the key to be resumable.
        return value.get_secret_value()

    @classmethod
    def create(
        cls,
        *,
        form_code: FormCode,
        key: SymmetricKey,
        package: dict[str, Any],
        part_ordinals: tuple[int, ...],
        offline_mode: bool = False,
        upo_v43: bool = False,
        base_url: str | None = None,
    ) -> BatchSessionState:
        """The state of a package built but not yet sent."""
        key_b64, iv_b64 = key.to_b64()
        return cls(
            form_code=form_code.system_code,
            symmetric_key=SecretStr(key_b64),
            initialization_vector=iv_b64,
            package=package,
            part_ordinals=part_ordinals,
            offline_mode=offline_mode,
            upo_v43=upo_v43,
            base_url=base_url,
        )

    @property
    def key(self) -> SymmetricKey:
        return SymmetricKey.from_b64(
            self.symmetric_key.get_secret_value(), self.initialization_vector
        )

    @property
    def form(self) -> FormCode:
        return FormCode.parse(self.form_code)

    @property
    def part_count(self) -> int:
        return len(self.part_ordinals)

    @property
    def upload_valid_until(self) -> datetime | None:
        """When KSeF stops taking uploads (20 min x parts after opening); None if not open."""
        if self.opened_at is None:
            return None
        return self.opened_at + UPLOAD_WINDOW_PER_PART * max(1, self.part_count)

    def missing_parts(self) -> list[int]:
        """Ordinal numbers of the parts not confirmed uploaded yet."""
        done = set(self.uploaded)
        return [n for n in self.part_ordinals if n not in done]

    # -- transitions (each returns a new state) ------------------------------------------

    def opened(self, reference_number: str, uploads: list[PartUploadState]) -> BatchSessionState:
        return self.model_copy(
            update={
                "reference_number": reference_number,
                "opened_at": datetime.now(UTC),
                "part_uploads": tuple(uploads),
                "uploaded": (),
                "closed": False,
            }
        )

    def with_uploaded(self, ordinal_number: int) -> BatchSessionState:
        return self.model_copy(update={"uploaded": tuple(sorted({*self.uploaded, ordinal_number}))})

    def with_closed(self) -> BatchSessionState:
        return self.model_copy(update={"closed": True})

    def abandon(self) -> BatchSessionState:
        """Forget the current (unclosed) session so the package can go in a new one."""
        gone = (*self.abandoned, self.reference_number) if self.reference_number else ()
        return self.model_copy(
            update={
                "reference_number": None,
                "opened_at": None,
                "part_uploads": (),
                "uploaded": (),
                "closed": False,
                "abandoned": gone or self.abandoned,
            }
        )

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON atomically (temp file + fsync + rename, mode 0600).

        A crash leaves either the previous file or the new one, never a torn one.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = self.model_dump_json(indent=1).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as file:  # mkstemp creates it 0600
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BatchSessionState:
        """Read a state file written by :meth:`save`."""
        return cls.model_validate_json(Path(path).read_bytes())


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk (POSIX).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows: directories cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
