"""The self-service panel API of the seeds (pure parts): methods and their parameters, envelopes, bearer tokens,
signed continuation tokens. No I/O here; `bridge/functions/panel/` runs the methods."""
