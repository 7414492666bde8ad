<?php

/**
 * s3bridge: WHMCS provisioning module for S3 storage (MinIO / Virtuozzo ostor). WHMCS 8.x and 9, PHP 7.4 to 8.4.
 *
 * Glue only: each module function forwards WHMCS's $params to the s3bridge daemon (lib/Bridge.php) and returns
 * what WHMCS expects. Configure it with config.php beside this file (copy config.php.example).
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/Bridge.php';

use S3Bridge\Bridge;

function s3bridge_MetaData(): array
{
    // ListAccountsUniqueIdentifierField: usage metrics and the Server Sync Tool find a service's account by its
    // username (docs: Usage Metrics, Server Sync); the product by its first setting, the backend (ListAccounts).
    return ['DisplayName' => 'S3 Bridge (MinIO / Virtuozzo)', 'APIVersion' => '1.1', 'RequiresServer' => true,
        'DefaultNonSSLPort' => '9000', 'DefaultSSLPort' => '443', 'ListAccountsUniqueIdentifierField' => 'username',
        'ListAccountsUniqueIdentifierDisplayName' => 'Username', 'ListAccountsProductField' => 'configoption1'];
}

/** Product settings, generated from bridge/domain/product_settings.py SETTINGS by tools/gen_shim_settings.py. */
function s3bridge_ConfigOptions(): array { return require __DIR__ . '/lib/settings.php'; }
function s3bridge_TestConnection(array $params): array { return Bridge::testConnection($params); }
function s3bridge_CreateAccount(array $params): string { return Bridge::simple('CreateAccount', $params); }
function s3bridge_SuspendAccount(array $params): string { return Bridge::simple('SuspendAccount', $params); }
function s3bridge_UnsuspendAccount(array $params): string { return Bridge::simple('UnsuspendAccount', $params); }
function s3bridge_TerminateAccount(array $params): string { return Bridge::simple('TerminateAccount', $params); }
function s3bridge_ChangePassword(array $params): string { return Bridge::simple('ChangePassword', $params); }
function s3bridge_ChangePackage(array $params): string { return Bridge::simple('ChangePackage', $params); }

/** WHMCS's daily cron, once per server ("Update usage statistics" must be on in Automation Settings). */
function s3bridge_UsageUpdate(array $params): string { return Bridge::usageUpdate($params); }
/** WHMCS's Server Sync Tool (Utilities > Server Sync, 7.8+): the storage server's accounts. */
function s3bridge_ListAccounts(array $params): array { return Bridge::listAccounts($params); }
/** The overview tab: WHMCS's own overview, then the module's output (rendered and escaped by the daemon). */
function s3bridge_ClientArea(array $params): array { return Bridge::clientArea($params); }
function s3bridge_AdminServicesTabFields(array $params): array { return Bridge::adminTab($params); }
function s3bridge_AdminCustomButtonArray(array $params = []): array { return Bridge::adminButtons($params); }

/** No sidebar links: WHMCS makes them tokenless GETs. The page's own forms post WHMCS's token instead. */
function s3bridge_ClientAreaCustomButtonArray(): array { return []; }
/** What a client may call (through those forms). */
function s3bridge_ClientAreaAllowedFunctions(): array
{
    return ['Change Password' => 'ResetPassword', 'Recalculate Disk Space' => 'RecalculateDiskSpace',
        'Storage' => 'Panel'];
}
/** The storage tabs' forms (with WHMCS's CSRF token) and download links. */
function s3bridge_Panel(array $params): array { return Bridge::panel($params); }
function s3bridge_ResetPassword(array $params): string { return Bridge::simple('ResetPassword', $params); }
function s3bridge_AdoptBuckets(array $params): string { return Bridge::simple('AdoptBuckets', $params); }
function s3bridge_RecalculateDiskSpace(array $params): string
{
    return Bridge::simple('RecalculateDiskSpace', $params);
}
function s3bridge_UpdatePolicy(array $params): string { return Bridge::simple('UpdatePolicy', $params); }
function s3bridge_SetStandardPolicy(array $params): string { return Bridge::simple('SetStandardPolicy', $params); }
function s3bridge_SetLimitedPolicy(array $params): string { return Bridge::simple('SetLimitedPolicy', $params); }
function s3bridge_RevokeOldKeys(array $params): string { return Bridge::simple('RevokeOldKeys', $params); }
function s3bridge_ShowLimits(array $params): string { return Bridge::simple('ShowLimits', $params); }
function s3bridge_ApplyLimits(array $params): string { return Bridge::simple('ApplyLimits', $params); }
function s3bridge_ClearLimits(array $params): string { return Bridge::simple('ClearLimits', $params); }
/** MinIO: point the server's audit webhook at the daemon (traffic metering; idempotent, no MinIO restart). */
function s3bridge_EnableMetering(array $params): string { return Bridge::simple('EnableMetering', $params); }

/** WHMCS usage billing (7.9+): disk space, traffic out and in, requests per service (lib/MetricsProvider.php). */
function s3bridge_MetricProvider(array $params)
{
    if (!class_exists('WHMCS\\Module\\Server\\S3bridge\\MetricsProvider')) {  // WHMCS autoloads lib/; older ones do not
        require_once __DIR__ . '/lib/MetricsProvider.php';
    }
    return new \WHMCS\Module\Server\S3bridge\MetricsProvider($params);
}
