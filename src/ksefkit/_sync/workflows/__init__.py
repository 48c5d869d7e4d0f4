# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""What people do with KSeF, built on the resources: authenticate, online sessions, ..."""
