"""Which MinIO server the rig builds: `S3BRIDGE_MINIO` picks, the default is the newest.

MinIO's community edition ships as source only. Each entry is a module version of github.com/minio/minio that
`go install` fetches through the Go module proxy; the binary is cached under ~/.cache/s3bridge/minio/<name>/.
"""

from __future__ import annotations

import os

RELEASES: dict[str, str] = {
    # The final commit of the (now archived) community repository; the newest the module proxy serves here.
    "2026-02-12": "v0.0.0-20260212201848-7aac2a2c5b7c",
    # The releases named in DESIGN.md (RELEASE.2025-10-15T17-29-55Z is commit 9e49d5e7a648).
    "RELEASE.2025-10-15T17-29-55Z": "v0.0.0-20251015172955-9e49d5e7a648",
    "RELEASE.2025-02-28T09-55-16Z": "RELEASE.2025-02-28T09-55-16Z",
}
DEFAULT = "2026-02-12"


def selected() -> tuple[str, str]:
    name = os.environ.get("S3BRIDGE_MINIO", DEFAULT)
    if name not in RELEASES:
        raise SystemExit(f"S3BRIDGE_MINIO={name!r} is not one of: {', '.join(RELEASES)}")
    return name, RELEASES[name]


if __name__ == "__main__":
    n, v = selected()
    print(n, v)
