"""The development and test rig: real MariaDB, real MinIO built from source, the real PHP shim.

Used by the pytest fixtures (tests/conftest.py), the demo (`scripts/demo.sh`) and the benchmarks. Not shipped.
"""
