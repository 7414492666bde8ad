"""Storage backends: one interface (`base.StorageBackend`), one folder per driver (minio/, ostor/), what the
drivers share in s3/; `registry.DRIVERS` is the table of drivers."""
