"""The ksefkit emulator: a local KSeF 2.0 server (routes, state, backends, UPO signing)."""
