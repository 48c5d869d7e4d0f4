"""The async implementation: the single source from which ``ksefkit._sync`` is generated.

Edit code here, then run ``python scripts/unasync.py``; ``tests/unit/test_unasync.py`` fails
when the generated sync twin is stale.
"""
