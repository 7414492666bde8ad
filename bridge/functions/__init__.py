"""Module functions (use cases): one module per WHMCS function family, registered in `registry`."""
