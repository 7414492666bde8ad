"""Storage backends: one interface (`base.StorageBackend`), one driver per module."""
