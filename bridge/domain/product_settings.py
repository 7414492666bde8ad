"""Product settings (WHMCS ConfigOptions, `configoption1..24`): definitions and validation (pure).

The order here fixes `configoptionN`; the shim's `s3bridge_ConfigOptions()` declares the same list, and
tests/integration/shim/test_product_settings.py checks the two agree. Every invalid setting fails the call with a
message naming the setting, before anything is created.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bridge.domain import policies
from bridge.domain.naming import NamingError, check_bucket_suffix, validate_rule
from bridge.domain.passwords import DEFAULT_RULE, PasswordRule, PasswordRuleError
from bridge.domain.policies import PolicyKind
from bridge.domain.values import RateLimits
from bridge.errors import BadRequest

UNITS: dict[str, int] = {"MB": 1024**2, "GB": 1024**3, "TB": 1024**4, "PB": 1024**5}  # binary: 1 GB = 1 GiB
PasswordDisplay = Literal["button", "plain", "hidden"]


@dataclass(frozen=True)
class Setting:
    number: int
    label: str
    type: str  # text | textarea | dropdown | yesno
    default: str
    options: tuple[str, ...] = ()
    description: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting(1, "Storage backend", "dropdown", "minio", ("minio", "ostor"),
            "MinIO or Virtuozzo ostor; must match the server's Access Hash (backend=ostor)"),
    Setting(2, "Disk space size", "text", "0", (), "Disk limit in the unit below; 0 = unlimited"),
    Setting(3, "Unit", "dropdown", "GB", tuple(UNITS), "Binary units: 1 GB = 1024 MB = 1 GiB"),
    Setting(4, "Warning threshold %", "text", "90", (), "Warning email when used space crosses this (1-100)"),
    Setting(5, "Warning email template", "text", "", (), "WHMCS email template name; empty = built-in email"),
    Setting(6, "Suspension email template", "text", "", (), "WHMCS email template name; empty = built-in email"),
    Setting(7, "MinIO group", "text", "", (), "Group the user joins on the server; empty = none"),
    Setting(8, "Raw standard policy", "textarea", "", (), "JSON policy with <USER_ID>; empty = the safe default"),
    Setting(9, "Raw disk-limit policy", "textarea", "", (), "JSON policy when the disk is full; empty = default"),
    Setting(10, "Usage history retention (days)", "text", "365", (), "Days of usage history kept (1-3650)"),
    Setting(11, "Link to instructions", "text", "", (), "https:// URL shown in the client area; empty = none"),
    Setting(12, "Default bucket", "yesno", "", (), "Create a bucket named <username>--<suffix> with the account"),
    Setting(13, "Default bucket suffix", "text", "data", (), "Lowercase letters, digits and hyphens"),
    Setting(14, "Client area password", "dropdown", "button", ("button", "plain", "hidden"),
            "button = hidden behind a Show button; plain = shown; hidden = not shown"),
    Setting(15, "Username rule", "text", "{client_id}-{service_id}", (),
            "Macros: {client_id} {service_id} {unixtime} {date} {time} {random_digit_N} {random_letter_N}"),
    Setting(16, "Password rule", "text", DEFAULT_RULE, (), "length:charset, length 8-40"),
    Setting(17, "S3 endpoint shown to clients", "text", "", (), "e.g. https://s3.example.com; empty = server host"),
    Setting(18, "Web console URL", "text", "", (), "e.g. https://console.example.com; empty = none"),
    Setting(19, "Rate limits (ostor)", "text", "", (),
            "Operations as default,get,put,list,delete (e.g. 100,50,20,10,10) in the gateway's own unit, sent"
            " unchanged (ops_unit=per_second or per_minute in the server's Access Hash: operations per second,"
            " converted); empty = none"),
    Setting(20, "Outbound bandwidth limit (ostor)", "text", "0", (),
            "The gateway's kb/s, sent unchanged (bandwidth_unit=kbit or kbyte in the server's Access Hash:"
            " kilobytes per second, converted); 0 = none"),
    Setting(21, "Bucket quota (ostor)", "text", "0", (),
            "GB per bucket, applied to every bucket of the account; 0 = none"),
    Setting(22, "Max buckets", "text", "0", (), "Buckets a customer may have (self-service panel); 0 = unlimited"),
    Setting(23, "Panel orders: payment method", "text", "", (),
            "WHMCS payment gateway (e.g. banktransfer) for orders placed from the panel when the client has no"
            " default; empty = no orders from the panel"),
)  # fmt: skip


@dataclass(frozen=True)
class ProductSettings:
    backend: str
    disk_limit_bytes: int  # 0 = unlimited
    unit: str
    warning_percent: int
    warning_template: str
    suspension_template: str
    group: str
    standard_policy: str
    limited_policy: str
    retention_days: int
    instructions_url: str
    default_bucket: bool
    bucket_suffix: str
    password_display: PasswordDisplay
    username_rule: str
    password_rule: PasswordRule
    endpoint_url: str
    console_url: str
    rate_limits: RateLimits
    bucket_quota_gb: int  # 0 = none
    max_buckets: int = 0  # 0 = unlimited
    panel_order_gateway: str = ""  # "" = the panel takes no orders for this product

    def policy_documents(self, username: str) -> dict[PolicyKind, dict[str, Any]]:
        """Both policy documents of `username`'s account, from the product's templates (or the safe defaults)."""
        return {
            "standard": policies.render(self.standard_policy, username),
            "limited": policies.render(self.limited_policy, username),
        }


def setting(number: int) -> Setting:
    """The setting declared as `configoption<number>`."""
    return next(s for s in SETTINGS if s.number == number)


class InvalidSetting(BadRequest):
    code = "bad_setting"

    def __init__(self, setting: Setting, problem: str) -> None:
        super().__init__(f"product setting '{setting.label}' (configoption{setting.number}) {problem}")
        self.setting = setting


_GROUP = re.compile(r"^[A-Za-z0-9_.@+=,-]{1,64}$")
_URL = re.compile(r"^https?://[^\s<>\"']+$")


def _raw(params: Mapping[str, Any], s: Setting) -> str:
    value = params.get(f"configoption{s.number}")
    text = "" if value is None else str(value).strip()
    return text if text else s.default


def _int(params: Mapping[str, Any], s: Setting, lo: int, hi: int) -> int:
    text = _raw(params, s)
    if not re.fullmatch(r"\d+", text):
        raise InvalidSetting(s, f"must be a whole number, got '{text[:40]}'")
    value = int(text)
    if not lo <= value <= hi:
        raise InvalidSetting(s, f"must be {lo}-{hi}, got {value}")
    return value


def _choice(params: Mapping[str, Any], s: Setting) -> str:
    text = _raw(params, s)
    if text not in s.options:
        raise InvalidSetting(s, f"must be one of {', '.join(s.options)}, got '{text[:40]}'")
    return text


def _url(params: Mapping[str, Any], s: Setting) -> str:
    text = _raw(params, s)
    if text and not _URL.match(text):
        raise InvalidSetting(s, "must be an http:// or https:// URL")
    return text


def _policy(params: Mapping[str, Any], s: Setting, default: str) -> str:
    text = _raw(params, s) or default
    try:
        policies.parse_template(text)
    except policies.PolicyError as e:
        raise InvalidSetting(s, str(e)) from None
    return text


def parse_product(params: Mapping[str, Any]) -> ProductSettings:
    by = {s.number: s for s in SETTINGS}
    unit = _choice(params, by[3])
    size = _raw(params, by[2])
    if not re.fullmatch(r"\d+(\.\d+)?", size):
        raise InvalidSetting(by[2], f"must be a number (0 = unlimited), got '{size[:40]}'")
    rule = _raw(params, by[15])
    try:
        validate_rule(rule)
    except NamingError as e:
        raise InvalidSetting(by[15], str(e)) from None
    suffix = _raw(params, by[13])
    default_bucket = _raw(params, by[12]).lower() in {"on", "1", "yes", "true"}
    if default_bucket:
        try:
            check_bucket_suffix(suffix)
        except NamingError as e:
            raise InvalidSetting(by[13], str(e)) from None
    try:
        password_rule = PasswordRule.parse(_raw(params, by[16]))
    except PasswordRuleError as e:
        raise InvalidSetting(by[16], str(e)) from None
    group = _raw(params, by[7])
    if group and not _GROUP.match(group):
        raise InvalidSetting(by[7], "may hold only letters, digits and _.@+=,- (at most 64)")
    for n in (5, 6):
        if len(_raw(params, by[n])) > 128:
            raise InvalidSetting(by[n], "is longer than a WHMCS template name can be")
    display = _choice(params, by[14])
    return ProductSettings(
        backend=_choice(params, by[1]),
        disk_limit_bytes=int(float(size) * UNITS[unit]),
        unit=unit,
        warning_percent=_int(params, by[4], 1, 100),
        warning_template=_raw(params, by[5]),
        suspension_template=_raw(params, by[6]),
        group=group,
        standard_policy=_policy(params, by[8], policies.DEFAULT_STANDARD),
        limited_policy=_policy(params, by[9], policies.DEFAULT_LIMITED),
        retention_days=_int(params, by[10], 1, 3650),
        instructions_url=_url(params, by[11]),
        default_bucket=default_bucket,
        bucket_suffix=suffix,
        password_display=display,  # type: ignore[arg-type]
        username_rule=rule,
        password_rule=password_rule,
        endpoint_url=_url(params, by[17]),
        console_url=_url(params, by[18]),
        rate_limits=_rate_limits(params, by[19], by[20]),
        bucket_quota_gb=_int(params, by[21], 0, 10**7),
        max_buckets=_int(params, by[22], 0, 100_000),
        panel_order_gateway=_gateway(params, by[23]),
    )


def _gateway(params: Mapping[str, Any], s: Setting) -> str:
    text = _raw(params, s)
    if text and not re.fullmatch(r"[a-z0-9_]{1,64}", text):
        raise InvalidSetting(s, "must be a WHMCS payment gateway's system name (lowercase letters, digits, _)")
    return text


def _rate_limits(params: Mapping[str, Any], ops: Setting, bandwidth: Setting) -> RateLimits:
    text = _raw(params, ops)
    values = [0.0] * 5
    if text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 5 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
            raise InvalidSetting(ops, f"must be five numbers default,get,put,list,delete, got '{text[:60]}'")
        values = [float(p) for p in parts]
    d, g, p, li, de = values
    return RateLimits(
        ops_default=d, ops_get=g, ops_put=p, ops_list=li, ops_delete=de, bandwidth_out=_int(params, bandwidth, 0, 10**9)
    )
