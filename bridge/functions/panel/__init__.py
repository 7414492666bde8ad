"""The self-service panel API (seed 002): one dispatcher behind two ways in (the shim's client area and bearer
tokens), handlers per family of methods, WHMCS reached through effects (shim) or its API (tokens)."""
