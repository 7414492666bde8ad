"""Answers quoted from the ostor admin guide that several ostor tests check against (the parser and the emulator)."""

from __future__ import annotations

GUIDE_LIMITS = {  # guide l.888-899: `ostor-limits` GET, ops:get and bandwidth:out set
    "ops:default": "0.00",
    "ops:get": "3600.00",
    "ops:put": "0.00",
    "ops:list": "0.00",
    "ops:delete": "0.00",
    "bandwidth:out": "100",
}
