"""The ``ksefkit`` command line (typer + rich, extra ``[cli]``).

``main.py`` composes one ``Typer()`` per command group; ``_errors.py`` is the one place that
turns exceptions into an ``error: ...`` line and an exit code. The core package never imports
this package.
"""
