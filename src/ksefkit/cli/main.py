"""The ``ksefkit`` command: global options, the command groups, and the one error handler.

Command tree::

    ksefkit [--env TEST|DEMO|PROD|LOCAL] [--base-url URL] [--ca-file PEM] [--json]
            [--timeout SECONDS] [-v] [--profile NAME]
      demo [--keep-dir DIR]                 the whole flow against an in-process emulator
      emulator serve [--host] [--port] [--data-dir] [--db] [--processing] [--tls] ...
      schemas fetch | where
      auth login [--nip|--internal-id|--nip-vat-ue|--peppol-id VALUE]
                 [--token | --cert PEM --key PEM | --p12 FILE | --test-cert]
                 [--subject-type certificateSubject|certificateFingerprint]
                 [--enforce-xades-compliance] [--verify-certificate-chain] [--save-token]
      auth status | logout [--local-only] | sessions [--revoke REF | --revoke-current]
      profile list | show [NAME] | set NAME [--env|--base-url|--nip|--cert|...] | delete NAME
      tokens create --permission P... --description TEXT [--wait]   (prints the token ONCE)
      tokens list [--status S...] [--description TEXT] | show REF | revoke REF
      certificates limits | enroll --name NAME [--type Authentication|Offline] [--key-type ec|rsa]
                   [--valid-from DT] [--out-dir DIR] [--password] [--no-wait]
      certificates status REF | list [--status] [--type] [--name] [--serial]
                   | get SERIAL... [--out-dir DIR] | revoke SERIAL [--reason R]
      permissions grant person|entity|authorization|indirect|subunit|eu-admin|eu-representative
                  ... [--no-wait]   (waits for the operation's status)
      permissions revoke PERMISSION_ID [--authorization] | status REF [--wait]
      permissions list [personal|persons|granted|subunits|entities|authorizations-granted|
                  authorizations-received|eu-entities] [--permission P...] [--state S]
      permissions roles [--subordinate] | attachments
      send FILE_OR_DIR... [--form] [--offline] [--no-validate] [--no-preflight]
                          [--upo-dir DIR] [--no-wait] [--upo-v43] [--wait-timeout S]
                          [--batch | --online] [--batch-threshold N] [--compression zip|targz]
                          [--part-size BYTES] [--parallel N] [--state FILE]
      session list [--type] [--status] | status REF | invoices REF [--failed] | close REF
      session resume STATE_FILE [--upo-dir DIR] [--reopen-expired]   finish a broken batch send
      invoice status SESSION_REF INVOICE_REF
      invoice validate FILE... [--today YYYY-MM-DD] [--strict]   FA(3) XSD + business checks
      invoice render FILE [-o OUT.html]                  the invoice as a printable HTML page
      upo get SESSION_REF (--invoice REF | --ksef-number NUMBER | --session) [-o PATH]
      qr invoice FILE [--ksef-number N] [--format png|svg] [-o OUT] [--qr-url URL]
      qr certificate FILE --cert PEM --key PEM [--context TYPE:VALUE] [--format] [-o OUT]
      offline add FILE... --mode offline24|offline|emergency|total_failure [--ended WHEN]
      offline list [--due | --overdue] [--status S...] | send [--batch] [--seller NIP]
      offline correct ORIGINAL FIXED.xml | end --mode offline|emergency WHEN
      offline failure START [--end WHEN] | failure --end WHEN      (all: [--queue FILE])
      testdata subject create NIP --type T --description D [--subunit NIP=D...] | remove NIP
      testdata person create NIP PESEL --description D [--bailiff] [--deceased] | remove NIP
      testdata block | unblock (--nip|--internal-id|--nip-vat-ue|--peppol-id VALUE)
      testdata session-limits set [--online-max-invoices N] [--batch-max-size-mb N] ... | reset
      testdata rate-limits set GROUP=S/M/H... | production | reset
      limits context | subject | rate               limits of the logged-in context

Profiles (``profiles.toml``) and secrets (OS keyring, else the 0600 ``credentials.json``) live
in ``$KSEFKIT_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/ksefkit``, else ``~/.config/ksefkit``.

Exit codes (``_errors.ExitCode``): 0 ok, 1 unexpected error, 2 usage error (typer's own),
3 authentication error (AuthenticationFailed, Unauthorized, not logged in), 4 API error (other
ApiError, TransportError, StorageError), 5 processing error (ProcessingError, InvoiceRejected,
SessionFailed, PreflightError, BatchPreflightError, WaitTimeout), 6 configuration error
(ConfigurationError, SchemaNotFoundError). Every failure prints exactly one ``error: <message>``
line on stderr.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .._config import DEFAULT_TIMEOUT, Environment
from ..errors import ConfigurationError
from . import (
    auth,
    certificates,
    demo,
    emulator,
    invoice,
    invoices,
    limits,
    offline,
    permissions,
    profile_cmd,
    profiles,
    qr,
    schemas,
    send,
    session,
    testdata,
    tokens,
    upo,
)
from ._context import Settings
from ._errors import EXIT_CODES_HELP, ExitCode, exit_code_for, message_for
from ._output import Output
from .credentials import DEFAULT_PROFILE

__all__ = ["app", "run"]

# typer's own control-flow exceptions (usage errors, --help, Ctrl-C) pass through untouched.
_CLICK_EXCEPTIONS = tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, *_CLICK_EXCEPTIONS)


class KsefGroup(TyperGroup):
    """The root group: the one place where an exception becomes ``error: ...`` + exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as error:
            settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
            code = exit_code_for(error)
            if code is ExitCode.UNEXPECTED and settings.out.verbose:
                settings.out.err.print(traceback.format_exc(), markup=False, highlight=False)
            settings.out.error(message_for(error))
            raise typer.Exit(int(code)) from error


app = typer.Typer(
    cls=KsefGroup,
    name="ksefkit",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _parse_env(value: str) -> Environment:
    try:
        return Environment.parse(value)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.callback()
def main(
    ctx: typer.Context,
    env: Annotated[
        str,
        typer.Option(
            "--env", envvar="KSEF_ENV", help="KSeF environment: TEST, DEMO, PROD or LOCAL."
        ),
    ] = "TEST",
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            envvar="KSEF_BASE_URL",
            help="API base URL (overrides --env), e.g. http://127.0.0.1:8765/v2.",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            envvar="KSEF_CA_FILE",
            exists=True,
            dir_okay=False,
            help="PEM file of a custom CA to trust (e.g. the emulator's with --tls).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine output: one JSON document on stdout.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="HTTP timeout in seconds.")
    ] = DEFAULT_TIMEOUT,
    verbose: Annotated[
        int,
        typer.Option(
            "-v",
            "--verbose",
            count=True,
            help="Log HTTP requests; tracebacks for unexpected errors.",
        ),
    ] = 0,
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            "-p",
            envvar="KSEF_PROFILE",
            help="Named profile (environment, context, credential; see `ksefkit profile`).",
        ),
    ] = DEFAULT_PROFILE,
) -> None:
    """KSeF 2.0 from the terminal: send invoices, check sessions, fetch UPOs, run the emulator.

    Credentials come from `ksefkit auth login`, or from KSEF_TOKEN plus KSEF_NIP
    (or KSEF_INTERNAL_ID / KSEF_NIP_VAT_UE / KSEF_PEPPOL_ID) in the environment.
    """
    explicit = any(_given(ctx, name) for name in ("env", "base_url"))
    settings = Settings(
        environment=_parse_env(env),
        base_url=base_url,
        ca_file=ca_file,
        timeout=timeout,
        target_explicit=explicit,
        out=Output(json_mode=json_output, verbose=verbose),
        profile=profiles.validate_name(profile),
    )
    ctx.obj = settings
    _log_to_stderr(("httpx", "ksefkit"), enabled=verbose > 0)
    _apply_profile(settings, profiles.get(settings.profile), ca_given=_given(ctx, "ca_file"))


def _apply_profile(settings: Settings, found: profiles.Profile | None, *, ca_given: bool) -> None:
    """The profile's target and CA file, unless given on the command line or in KSEF_*."""
    if found is None:
        return
    if not settings.target_explicit and (found.environment or found.base_url):
        settings.environment = Environment.parse(found.environment or "TEST")
        settings.base_url = found.base_url
    if not ca_given and found.ca_file:
        settings.ca_file = Path(found.ca_file)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (tests swap it per run)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def _log_to_stderr(names: tuple[str, ...], *, enabled: bool) -> None:
    """INFO logs of these loggers on stderr (request lines; never headers or bodies).

    Disabling removes what an earlier run in the same process (tests) installed.
    """
    for name in names:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(handler)
        logger.setLevel(logging.INFO if enabled else logging.NOTSET)
        if enabled:
            handler = _StderrHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)


def _given(ctx: typer.Context, name: str) -> bool:
    """True if the option came from the command line or its environment variable."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


app.add_typer(demo.app)
app.add_typer(emulator.app, name="emulator")
app.add_typer(schemas.app, name="schemas")
app.add_typer(auth.app, name="auth")
app.add_typer(profile_cmd.app, name="profile")
app.add_typer(tokens.app, name="tokens")
app.add_typer(certificates.app, name="certificates")
app.add_typer(permissions.app, name="permissions")
app.add_typer(send.app)
app.add_typer(session.app, name="session")
app.add_typer(invoice.app, name="invoice")
app.add_typer(invoices.app, name="invoices")
app.add_typer(upo.app, name="upo")
app.add_typer(qr.app, name="qr")
app.add_typer(offline.app, name="offline")
app.add_typer(testdata.app, name="testdata")
app.add_typer(limits.app, name="limits")


def run() -> None:
    """The console-script entry point (``ksefkit = "ksefkit.cli.main:run"``)."""
    app(prog_name="ksefkit")


if __name__ == "__main__":
    run()
