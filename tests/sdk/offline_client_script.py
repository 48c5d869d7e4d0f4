"""An offline-queue sender process for ``test_offline_crash.py``: the test kills it (SIGKILL).

    KSEF_TOKEN=... python offline_client_script.py BASE_URL NIP QUEUE_FILE online|batch

Sends the queue (settling what an earlier, killed run left in flight) and prints every entry
as one JSON line; exits 0 when all are accepted. ``KSEFKIT_CRASH`` makes the process kill
itself (SIGKILL, no clean-up of any kind) at a chosen point:

* ``mark:N``     right after the N-th ``mark_sending`` commit (recorded, nothing sent yet);
* ``post:N``     as the N-th invoice POST starts (request on its way, no answer read);
* ``posted:N``   after KSeF answered the N-th invoice POST (202), before it is recorded;
* ``verdict:N``  after the N-th invoice status answer, before the verdict is recorded;
* ``save:N``     right after the N-th batch state save (1 = package built);
* ``open``       after KSeF opened the batch session, before the state records it;
* ``close``      after KSeF accepted the batch close, before the state records it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import sys
from typing import Any

import httpx

from ksefkit import Client
from ksefkit.batch_state import BatchSessionState
from ksefkit.offline import OfflineQueue

INVOICE_POST = re.compile(r"/sessions/online/[^/]+/invoices$")
INVOICE_STATUS = re.compile(r"/sessions/[^/]+/invoices/[^/]+$")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(base_url: str, nip: str, queue_path: str, how: str) -> int:
    kind, _, count = os.environ.get("KSEFKIT_CRASH", "").partition(":")
    at = int(count) if count else 0
    counters = {n: itertools.count(1) for n in ("mark", "post", "posted", "verdict", "save")}

    def tick(name: str) -> None:
        if kind == name and next(counters[name]) == at:
            die()

    def patch(cls: Any, name: str, counter: str) -> None:
        original = getattr(cls, name)

        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            tick(counter)
            return result

        setattr(cls, name, wrapped)

    patch(OfflineQueue, "mark_sending", "mark")
    patch(BatchSessionState, "save", "save")

    def on_request(request: httpx.Request) -> None:
        if request.method == "POST" and INVOICE_POST.search(request.url.path):
            tick("post")

    def on_response(response: httpx.Response) -> None:
        request, status = response.request, response.status_code
        path = request.url.path
        if request.method == "POST" and INVOICE_POST.search(path) and status == 202:
            tick("posted")
        if request.method == "GET" and INVOICE_STATUS.search(path) and status == 200:
            tick("verdict")
        opened = path.endswith("/sessions/batch") and status == 201
        closed = path.endswith("/close") and status == 204 and "/batch/" in path
        if (kind == "open" and opened) or (kind == "close" and closed):
            die()

    hooks = {"request": [on_request], "response": [on_response]}
    with (
        httpx.Client(event_hooks=hooks) as http,
        Client(base_url=base_url, http_client=http) as client,
        OfflineQueue(queue_path) as queue,
    ):
        client.authenticate(os.environ["KSEF_TOKEN"], nip=nip)
        client.offline(queue, timeout=60).send(batch=how == "batch")
        entries = queue.list()
    print(json.dumps([[e.invoice_number, e.status, e.ksef_number] for e in entries]))
    return 0 if all(e.status == "accepted" for e in entries) else 3


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
