"""HTTP only: routes, request signing, the app keys. Calls `functions`; nothing below imports it."""
