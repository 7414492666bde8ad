"""Which module functions the daemon serves, and the params each one requires."""

from __future__ import annotations

from bridge.functions import areas, fleet, lifecycle, limits, metering, reconcile, server_sync, usage_update
from bridge.functions.connection import test_connection
from bridge.functions.context import FunctionSpec

SERVER_PARAMS = ("serverusername", "serverpassword")
SERVICE_PARAMS = ("serviceid", *SERVER_PARAMS)

FUNCTIONS: dict[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec("TestConnection", test_connection, required=SERVER_PARAMS),
        FunctionSpec("CreateAccount", lifecycle.create_account, required=SERVICE_PARAMS),
        FunctionSpec("AdoptBuckets", lifecycle.adopt_buckets, required=SERVICE_PARAMS),
        FunctionSpec("SuspendAccount", lifecycle.suspend_account, required=SERVICE_PARAMS),
        FunctionSpec("UnsuspendAccount", lifecycle.unsuspend_account, required=SERVICE_PARAMS),
        FunctionSpec("TerminateAccount", lifecycle.terminate_account, required=SERVICE_PARAMS),
        FunctionSpec("ChangePassword", lifecycle.change_password, required=(*SERVICE_PARAMS, "password")),
        FunctionSpec("ChangePackage", lifecycle.change_package, required=SERVICE_PARAMS),
        FunctionSpec("ResetPassword", lifecycle.reset_password, required=SERVICE_PARAMS),
        FunctionSpec("UpdatePolicy", lifecycle.update_policy, required=SERVICE_PARAMS),
        FunctionSpec("SetStandardPolicy", lifecycle.set_standard_policy, required=SERVICE_PARAMS),
        FunctionSpec("SetLimitedPolicy", lifecycle.set_limited_policy, required=SERVICE_PARAMS),
        FunctionSpec("UsageUpdate", usage_update.usage_update, required=(*SERVER_PARAMS, "serverid")),
        FunctionSpec("EnforceLimits", usage_update.enforce_limits, required=(*SERVER_PARAMS, "serverid")),
        FunctionSpec("RecalculateDiskSpace", usage_update.recalculate, required=SERVICE_PARAMS),
        FunctionSpec("RevokeOldKeys", lifecycle.revoke_old_keys, required=SERVICE_PARAMS),
        FunctionSpec("ShowLimits", limits.show_limits, required=SERVICE_PARAMS),
        FunctionSpec("ApplyLimits", limits.apply_limits, required=SERVICE_PARAMS),
        FunctionSpec("ClearLimits", limits.clear_limits, required=SERVICE_PARAMS),
        FunctionSpec("Buttons", limits.buttons, required=SERVER_PARAMS),
        FunctionSpec("ClientArea", areas.client_area, required=SERVICE_PARAMS),
        FunctionSpec("AdminServicesTabFields", areas.admin_tab, required=SERVICE_PARAMS),
        FunctionSpec("EnableMetering", metering.enable_metering, required=(*SERVER_PARAMS, "serverid")),
        FunctionSpec("Reconcile", reconcile.reconcile, required=("serverid",)),
        FunctionSpec("FleetPage", fleet.fleet_page),
        FunctionSpec("ListAccounts", server_sync.list_accounts, required=(*SERVER_PARAMS, "serverid")),
        FunctionSpec("MetricUsage", metering.metric_usage, required=(*SERVER_PARAMS, "serverid")),
    )
}
