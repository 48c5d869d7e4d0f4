"""Session state that outlives a process: a pydantic model that serialises to JSON.

The JSON holds the session's AES key: store it as you would store a password. ``repr`` and
``str`` never show it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, SecretStr, field_serializer

from .crypto import SymmetricKey
from .formcodes import FormCode

__all__ = ["OnlineSessionState"]


class OnlineSessionState(BaseModel):
    """Everything needed to resume an online session in another process.

    >>> state = session.state  # doctest: +SKIP
    >>> text = state.model_dump_json()  # doctest: +SKIP
    >>> client.resume_online_session(OnlineSessionState.model_validate_json(text))  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True)

    kind: str = "online"
    reference_number: str
    valid_until: datetime
    form_code: str
    symmetric_key: SecretStr
    initialization_vector: str
    upo_v43: bool = False
    base_url: str | None = None
    closed: bool = False

    @field_serializer("symmetric_key", when_used="json")
    def _reveal_key(self, value: SecretStr) -> str:
        # JSON is the persistence format: it must carry the key to be resumable.
        return value.get_secret_value()

    @property
    def key(self) -> SymmetricKey:
        return SymmetricKey.from_b64(
            self.symmetric_key.get_secret_value(), self.initialization_vector
        )

    @property
    def form(self) -> FormCode:
        return FormCode.parse(self.form_code)

    @classmethod
    def create(
        cls,
        *,
        reference_number: str,
        valid_until: datetime,
        form_code: FormCode,
        key: SymmetricKey,
        upo_v43: bool = False,
        base_url: str | None = None,
    ) -> OnlineSessionState:
        key_b64, iv_b64 = key.to_b64()
        return cls(
            reference_number=reference_number,
            valid_until=valid_until,
            form_code=form_code.system_code,
            symmetric_key=SecretStr(key_b64),
            initialization_vector=iv_b64,
            upo_v43=upo_v43,
            base_url=base_url,
        )
