"""The Virtuozzo ostor driver: admin services (signing, answers, units, the HTTP client), errors, settings, panel."""
