"""Training and export code. Needs the `[train]` extra; never imported by the server."""
