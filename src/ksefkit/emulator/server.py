"""Running the emulator over HTTP: a background-thread server for tests and ``serve``.

:class:`ThreadedServer` runs uvicorn on a free port in a daemon thread (sync SDK tests, the
``ksefkit demo``); :func:`serve` runs in the foreground for ``ksefkit emulator serve``, with
a SQLite file in ``data_dir``, a seeded test company on first start and optional TLS (a
local CA and a server certificate for 127.0.0.1/localhost written to ``data_dir``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ThreadedServer", "TlsFiles", "make_tls_files", "serve"]


def _no_delay(sock: socket.socket) -> None:
    """Disable Nagle on the listening socket (accepted connections inherit it).

    uvicorn writes a response's head and body separately and does not set ``TCP_NODELAY`` on
    sockets it is handed; on a keep-alive connection the body then waits for the client's
    delayed ACK, about 40 ms per request on Linux.
    """
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class ThreadedServer:
    """uvicorn in a daemon thread; ``base_url`` is ``http://127.0.0.1:<port>``.

    >>> from ksefkit.emulator.app import create_app
    >>> with ThreadedServer(create_app()) as server:  # doctest: +SKIP
    ...     httpx.get(server.base_url + "/_emulator/health").json()["status"]
    'ok'
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **uvicorn_kw: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _no_delay(self._sock)
        self._sock.bind((host, port))
        self.host, self.port = host, self._sock.getsockname()[1]
        scheme = "https" if uvicorn_kw.get("ssl_certfile") else "http"
        self.base_url = f"{scheme}://{host}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", **uvicorn_kw)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="ksefkit-emulator-http", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self) -> ThreadedServer:
        """Start serving and wait until uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator HTTP server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TlsFiles:
    """Paths of the generated CA certificate, server certificate and server key."""

    def __init__(self, ca: Path, cert: Path, key: Path) -> None:
        self.ca, self.cert, self.key = ca, cert, key


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def make_tls_files(data_dir: Path) -> TlsFiles:
    """A local CA and a server certificate for 127.0.0.1/localhost (kept if present)."""
    files = TlsFiles(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    if files.ca.exists() and files.cert.exists() and files.key.exists():
        return files
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ksefkit emulator local CA"))
        .issuer_name(_name("ksefkit emulator local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(_pem_key(key))
    files.key.chmod(0o600)
    return files


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    data_dir: str | Path = ".ksefkit-emulator",
    tls: bool = False,
    public_url: str | None = None,
    seed: bool = True,
    processing: str = "background",
    *,
    db_path: str | Path | None = None,
    processing_delay: float = 0.0,
    rate_limits: str = "off",
    faults: list[str] | None = None,
    fault_seed: int | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (``ksefkit emulator serve``).

    The database is ``db_path`` (default ``<data_dir>/emulator.sqlite3``; batch parts and
    export packages live next to it in ``<stem>-storage``). Starting again on the same file
    resumes everything: keys, CA, subjects, tokens, sessions and the work left pending, even
    after ``kill -9`` (see :mod:`ksefkit.emulator.store`). The first start seeds a test
    company and prints its NIP and KSeF token (shown once: it is a credential for this
    emulator). ``port=0`` picks a free port; the printed URL has the real one.
    ``rate_limits``, ``faults`` (``--fault`` specs) and ``fault_seed`` are the
    :class:`~ksefkit.emulator.state.EmulatorConfig` fields of the same names.

    >>> serve(port=0, db_path="/tmp/emulator.db")  # doctest: +SKIP
    """
    import uvicorn

    from . import crash
    from .app import create_app
    from .state import EmulatorState

    root = Path(data_dir)
    database = Path(db_path) if db_path is not None else root / "emulator.sqlite3"
    database.parent.mkdir(parents=True, exist_ok=True)
    hook = crash.armed()  # a typo in the test hook fails here, not silently later
    # Bind before printing so port 0 reports the port it really got.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    _no_delay(sock)
    sock.bind((host, port))
    # Listen at once: a client that read the printed URL may connect before uvicorn has
    # started; the kernel queues it in the backlog instead of refusing it.
    sock.listen(2048)
    port = sock.getsockname()[1]
    state = EmulatorState(
        db_path=str(database),
        public_url=public_url,
        processing=processing,
        processing_delay=processing_delay,
        reuse_keys=False,
        rate_limits=rate_limits,
        faults=list(faults or []),
        fault_seed=fault_seed,
    )
    scheme = "https" if tls else "http"
    base = public_url or f"{scheme}://{host}:{port}"
    first_start = state.store.one("SELECT 1 FROM ksef_tokens LIMIT 1") is None
    if seed and first_start:
        subject = state.create_subject()
        print(f"Seeded test company NIP {subject.nip}")
        print(f"KSeF token: {subject.token}")
    print(f"Database:  {database}")
    print(f"KSeF API:  {base}/v2")
    print(f"Admin:     POST {base}/_emulator/subjects to create more companies")
    if hook:
        print(f"Test hook: {crash.ENV}={hook} (the process dies there)")
    print(f"Rate limits: {rate_limits}")
    for rule in state.faults.rules():
        print(f"Fault {rule['id']}: {rule}")
    kw: dict[str, Any] = {}
    if tls:
        files = make_tls_files(root)
        kw = {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
        print(f"TLS CA certificate: {files.ca}")
    sys.stdout.flush()  # whoever started us with --port 0 reads the URL now
    config = uvicorn.Config(create_app(state), log_level="info", **kw)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        state.close()
