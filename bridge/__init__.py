"""whmcs-s3-bridge: the daemon behind the WHMCS `s3bridge` server module."""

__version__ = "0.1.0"
