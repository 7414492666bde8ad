<?php

/**
 * s3bridge: WHMCS provisioning module for S3 storage (MinIO / Virtuozzo ostor).
 *
 * A thin shim. Every module function forwards an allow-listed copy of WHMCS's $params to the s3bridge daemon
 * (signed JSON over loopback or a unix socket, see docs/PROTOCOL.md), carries out the effects the daemon returns
 * with localAPI(), logs the call with logModuleCall() (every secret masked), and turns the answer into what WHMCS
 * expects. No business logic lives here.
 *
 * Configuration: env S3BRIDGE_URL and S3BRIDGE_SECRET in the web server environment, else config.php beside this
 * file (see config.php.example).
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/BridgeException.php';
require_once __DIR__ . '/lib/BridgeClient.php';

use S3Bridge\BridgeClient;
use S3Bridge\BridgeException;

/** Keys of WHMCS's $params sent to the daemon (plus configoption1..24, a reduced clientsdetails and bridge_* keys). */
const S3BRIDGE_PARAM_KEYS = [
    'serviceid', 'userid', 'pid', 'serverid', 'domain', 'username', 'password', 'producttype', 'moduletype',
    'configoptions', 'customfields',
    'server', 'serverip', 'serverhostname', 'serverusername', 'serverpassword', 'serveraccesshash', 'serversecure',
    'serverport', 'serverhttpprefix',
];

/** Fields of $params['clientsdetails'] sent to the daemon. */
const S3BRIDGE_CLIENT_KEYS = ['id', 'userid', 'firstname', 'lastname', 'companyname', 'email', 'language'];

// ---------------------------------------------------------------------------------------------------------------
// WHMCS module functions
// ---------------------------------------------------------------------------------------------------------------

function s3bridge_MetaData(): array
{
    return [
        'DisplayName' => 'S3 Bridge (MinIO / Virtuozzo)',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '9000',
        'DefaultSSLPort' => '443',
    ];
}

/**
 * Product settings. The order fixes configoption1..21 in $params and must match bridge/product.py SETTINGS
 * (tests/test_product_settings.py checks it). The daemon validates every value; invalid ones fail the call with a
 * message naming the setting.
 */
function s3bridge_ConfigOptions(): array
{
    return [
        // configoption1
        'Storage backend' => ['Type' => 'dropdown', 'Options' => ['minio' => 'MinIO', 'ostor' => 'Virtuozzo ostor'],
            'Default' => 'minio',
            'Description' => 'MinIO or Virtuozzo ostor; must match the server\'s Access Hash (backend=ostor)'],
        // configoption2
        'Disk space size' => ['Type' => 'text', 'Size' => '10', 'Default' => '0',
            'Description' => 'Disk limit in the unit below; 0 = unlimited'],
        // configoption3
        'Unit' => ['Type' => 'dropdown', 'Options' => ['MB' => 'MB', 'GB' => 'GB', 'TB' => 'TB', 'PB' => 'PB'],
            'Default' => 'GB', 'Description' => 'Binary units: 1 GB = 1024 MB = 1 GiB'],
        // configoption4
        'Warning threshold %' => ['Type' => 'text', 'Size' => '4', 'Default' => '90',
            'Description' => 'Warning email when used space crosses this (1-100)'],
        // configoption5
        'Warning email template' => ['Type' => 'text', 'Size' => '40', 'Default' => '',
            'Description' => 'WHMCS email template name; empty = built-in email'],
        // configoption6
        'Suspension email template' => ['Type' => 'text', 'Size' => '40', 'Default' => '',
            'Description' => 'WHMCS email template name; empty = built-in email'],
        // configoption7
        'MinIO group' => ['Type' => 'text', 'Size' => '25', 'Default' => '',
            'Description' => 'Group the user joins on the server; empty = none'],
        // configoption8
        'Raw standard policy' => ['Type' => 'textarea', 'Rows' => '8', 'Cols' => '60', 'Default' => '',
            'Description' => 'JSON policy with <USER_ID>; empty = the safe default'],
        // configoption9
        'Raw disk-limit policy' => ['Type' => 'textarea', 'Rows' => '8', 'Cols' => '60', 'Default' => '',
            'Description' => 'JSON policy when the disk is full; empty = default'],
        // configoption10
        'Usage history retention (days)' => ['Type' => 'text', 'Size' => '5', 'Default' => '365',
            'Description' => 'Days of usage history kept (1-3650)'],
        // configoption11
        'Link to instructions' => ['Type' => 'text', 'Size' => '60', 'Default' => '',
            'Description' => 'https:// URL shown in the client area; empty = none'],
        // configoption12
        'Default bucket' => ['Type' => 'yesno', 'Default' => '',
            'Description' => 'Create a bucket named <username>--<suffix> with the account'],
        // configoption13
        'Default bucket suffix' => ['Type' => 'text', 'Size' => '20', 'Default' => 'data',
            'Description' => 'Lowercase letters, digits and hyphens'],
        // configoption14
        'Client area password' => ['Type' => 'dropdown',
            'Options' => ['button' => 'Hidden, with a Show button', 'plain' => 'Shown', 'hidden' => 'Not shown'],
            'Default' => 'button',
            'Description' => 'button = hidden behind a Show button; plain = shown; hidden = not shown'],
        // configoption15
        'Username rule' => ['Type' => 'text', 'Size' => '40', 'Default' => '{client_id}-{service_id}',
            'Description' => 'Macros: {client_id} {service_id} {unixtime} {date} {time} {random_digit_N} {random_letter_N}'],
        // configoption16
        'Password rule' => ['Type' => 'text', 'Size' => '60',
            'Default' => '24:abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789',
            'Description' => 'length:charset, length 8-40'],
        // configoption17
        'S3 endpoint shown to clients' => ['Type' => 'text', 'Size' => '60', 'Default' => '',
            'Description' => 'e.g. https://s3.example.com; empty = server host'],
        // configoption18
        'Web console URL' => ['Type' => 'text', 'Size' => '60', 'Default' => '',
            'Description' => 'e.g. https://console.example.com; empty = none'],
        // configoption19
        'Rate limits (ostor)' => ['Type' => 'text', 'Size' => '30', 'Default' => '',
            'Description' => 'Operations/s as default,get,put,list,delete (e.g. 100,50,20,10,10); empty = none'],
        // configoption20
        'Outbound bandwidth limit (ostor)' => ['Type' => 'text', 'Size' => '10', 'Default' => '0',
            'Description' => 'KB/s downloaded per user; 0 = none'],
        // configoption21
        'Bucket quota (ostor)' => ['Type' => 'text', 'Size' => '10', 'Default' => '0',
            'Description' => 'GB per bucket, applied to every bucket of the account; 0 = none'],
        // configoption22
        'Max buckets' => ['Type' => 'text', 'Size' => '6', 'Default' => '0',
            'Description' => 'Buckets a customer may have (self-service panel); 0 = unlimited'],
        // configoption23
        'Panel orders: payment method' => ['Type' => 'text', 'Size' => '20', 'Default' => '',
            'Description' => 'WHMCS payment gateway (e.g. banktransfer) for orders placed from the panel when the'
                . ' client has no default; empty = no orders from the panel'],
    ];
}

/** @return array{success: bool, error: string} */
function s3bridge_TestConnection(array $params): array
{
    try {
        $result = s3bridge_forward('TestConnection', $params);
    } catch (\Throwable $e) {
        return ['success' => false, 'error' => $e->getMessage()];
    }
    if (is_array($result) && array_key_exists('success', $result)) {
        $error = is_scalar($result['error'] ?? null) ? (string) $result['error'] : '';
        return ['success' => (bool) $result['success'], 'error' => $result['success'] ? '' : $error];
    }
    if ($result === true) {
        return ['success' => true, 'error' => ''];
    }
    return ['success' => false, 'error' => 's3bridge daemon answered TestConnection without a success flag'];
}

function s3bridge_CreateAccount(array $params): string
{
    return s3bridge_simple('CreateAccount', $params);
}

function s3bridge_SuspendAccount(array $params): string
{
    return s3bridge_simple('SuspendAccount', $params);
}

function s3bridge_UnsuspendAccount(array $params): string
{
    return s3bridge_simple('UnsuspendAccount', $params);
}

function s3bridge_TerminateAccount(array $params): string
{
    return s3bridge_simple('TerminateAccount', $params);
}

function s3bridge_ChangePassword(array $params): string
{
    return s3bridge_simple('ChangePassword', $params);
}

function s3bridge_ChangePackage(array $params): string
{
    return s3bridge_simple('ChangePackage', $params);
}

/**
 * The client area's overview tab, rendered by the daemon (escaped, translated, no third-party assets) after it
 * checked that the service belongs to the logged-in client.
 */
function s3bridge_ClientArea(array $params): array
{
    try {
        $result = s3bridge_forward('ClientArea', s3bridge_panel_view($params));
    } catch (\Throwable $e) {
        return [
            'tabOverviewReplacementTemplate' => 'templates/error.tpl',
            'templateVariables' => ['s3bridge_error' => $e->getMessage()],
        ];
    }
    return [
        'tabOverviewReplacementTemplate' => 'templates/overview.tpl',
        'templateVariables' => ['s3bridge_html' => is_array($result) ? (string) ($result['html'] ?? '') : ''],
    ];
}

/** Functions a logged-in client may call besides the buttons: the panel's forms and download links. */
function s3bridge_ClientAreaAllowedFunctions(): array
{
    return ['Panel'];
}

/** Form fields the panel's actions take (everything else in the request is ignored). */
const S3BRIDGE_PANEL_FIELDS = ['bucket_name', 'filename', 'prefix', 'name', 'expires', 'read_only', 'buckets',
    'access_key', 'token_id', 'reason'];

/** Panel actions that only read, allowed as plain GET links; every other one needs a POST with WHMCS's token. */
const S3BRIDGE_PANEL_READS = ['download_url'];

/**
 * The client area's panel actions (forms and download links of the tabs): checks WHMCS's CSRF token on every
 * change, forwards the action with the logged-in client (WHMCS's session) to the daemon, applies the WHMCS work it
 * returns, and shows the outcome page (a download goes straight to its presigned URL).
 */
function s3bridge_Panel(array $params)
{
    $isPost = ($_SERVER['REQUEST_METHOD'] ?? '') === 'POST';
    $source = $isPost ? $_POST : $_GET;
    $action = is_string($source['s3action'] ?? null) ? (string) $source['s3action'] : '';
    $args = [];
    foreach (S3BRIDGE_PANEL_FIELDS as $field) {
        $value = $source[$field] ?? null;
        if (is_string($value)) {
            $args[$field] = $value;
        } elseif (is_array($value)) {
            $args[$field] = array_values(array_filter($value, 'is_string'));
        }
    }
    $args['s3uid'] = (string) ($params['username'] ?? '');
    if (!in_array($action, S3BRIDGE_PANEL_READS, true)) {
        $token = $_POST['token'] ?? null;
        if (!$isPost || !is_string($token) || $token === '' || !function_exists('check_token')) {
            return s3bridge_panel_page('<div class="alert alert-danger" role="alert">This action was refused because it'
                . ' did not carry the form\'s security token. Nothing was changed.</div>');
        }
        check_token('WHMCS.default');  // WHMCS stops the request here when the token does not match
        $params['bridge_csrf'] = 'checked';
    }
    $params['bridge_panel_action'] = $action;
    $params['bridge_panel_args'] = $args;
    $params['bridge_render'] = 1;
    try {
        $result = s3bridge_forward('Panel', s3bridge_panel_view($params));
    } catch (\Throwable $e) {
        return s3bridge_panel_page('<div class="alert alert-danger" role="alert">'
            . htmlspecialchars($e->getMessage(), ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8') . '</div>');
    }
    $envelope = is_array($result['envelope'] ?? null) ? $result['envelope'] : [];
    $url = is_string($envelope['url'] ?? null) ? $envelope['url'] : '';
    if ($action === 'download_url' && ($envelope['result'] ?? '') === 'OK' && preg_match('#^https?://#', $url)) {
        header('Location: ' . $url, true, 303);
        exit;
    }
    return s3bridge_panel_page(is_string($result['html'] ?? null) ? $result['html'] : '');
}

/** What WHMCS shows for a custom client function: a page rendered from the module's template. */
function s3bridge_panel_page(string $html): array
{
    return ['templatefile' => 'templates/panel', 'breadcrumb' => ['#' => 'Storage'],
        'vars' => ['s3bridge_html' => $html]];
}

/**
 * The tab and listing the client asked for (query string), WHMCS's CSRF token for the page's forms, and the page's
 * own address (where an upload without JavaScript comes back to), as bridge_* params for the daemon.
 */
function s3bridge_panel_view(array $params): array
{
    $map = ['s3tab' => 'bridge_tab', 'bucket' => 'bridge_bucket', 'prefix' => 'bridge_prefix', 'q' => 'bridge_search',
        'mode' => 'bridge_mode', 'cursor' => 'bridge_cursor'];
    foreach ($map as $query => $key) {
        if (is_string($_GET[$query] ?? null)) {
            $params[$key] = substr((string) $_GET[$query], 0, 4096);
        }
    }
    if (function_exists('generate_token')) {
        $params['bridge_csrf_token'] = (string) generate_token('plain');
    }
    $host = (string) ($_SERVER['HTTP_HOST'] ?? '');
    if ($host !== '' && preg_match('/^[A-Za-z0-9.:\[\]-]+$/', $host)) {
        $scheme = (!empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off') ? 'https' : 'http';
        $path = (string) parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/clientarea.php'), PHP_URL_PATH);
        $params['bridge_return_url'] = $scheme . '://' . $host . $path . '?action=productdetails&id='
            . (int) ($params['serviceid'] ?? 0);
    }
    return $params;
}

/** The admin's service tab: label => HTML, rendered and escaped by the daemon. */
function s3bridge_AdminServicesTabFields(array $params): array
{
    try {
        $result = s3bridge_forward('AdminServicesTabFields', $params);
    } catch (\Throwable $e) {
        return ['S3 Bridge' => htmlspecialchars($e->getMessage(), ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8')];
    }
    $fields = is_array($result) ? ($result['fields'] ?? []) : [];
    return is_array($fields) ? $fields : [];
}

/** WHMCS's daily usage job for one server: the daemon writes tblhosting and enforces limits. */
function s3bridge_UsageUpdate(array $params): string
{
    return s3bridge_simple('UsageUpdate', $params);
}

/** Exact disk usage by listing now (the storage server's own figures lag), then the policy it calls for. */
function s3bridge_RecalculateDiskSpace(array $params): string
{
    return s3bridge_simple('RecalculateDiskSpace', $params);
}

/**
 * Admin buttons: label => function suffix (s3bridge_<suffix>). The daemon says which ones the server's backend
 * supports (MinIO: policies and passwords; ostor: key rotation and native limits); without it, the MinIO set.
 */
function s3bridge_AdminCustomButtonArray(array $params = []): array
{
    return s3bridge_buttons($params, 'admin');
}

/** Client buttons: only these (and ClientArea) can be called by a logged-in client. */
function s3bridge_ClientAreaCustomButtonArray(array $params = []): array
{
    return s3bridge_buttons($params, 'client');
}

function s3bridge_buttons(array $params, string $area): array
{
    $defaults = [
        'admin' => [
            'Recalculate Disk Space' => 'RecalculateDiskSpace',
            'Update Policy' => 'UpdatePolicy',
            'Set Standard Policy' => 'SetStandardPolicy',
            'Set Limited Policy' => 'SetLimitedPolicy',
            'Change Password' => 'ResetPassword',
        ],
        'client' => [
            'Change Password' => 'ResetPassword',
            'Recalculate Disk Space' => 'RecalculateDiskSpace',
        ],
    ];
    if (empty($params['serverusername'])) {
        return $defaults[$area];
    }
    try {
        $result = s3bridge_forward('Buttons', $params);
    } catch (\Throwable $e) {
        return $defaults[$area];
    }
    return is_array($result[$area] ?? null) ? $result[$area] : $defaults[$area];
}

/** ostor: revoke the old key pair once WHMCS holds the new one (or stray pairs beside the current one). */
function s3bridge_RevokeOldKeys(array $params): string
{
    return s3bridge_simple('RevokeOldKeys', $params);
}

/** ostor: the account's storage quota and rate limits (shown in the module log and the admin tab). */
function s3bridge_ShowLimits(array $params): string
{
    return s3bridge_simple('ShowLimits', $params);
}

/** ostor: set the storage quota and rate limits from the product's settings. */
function s3bridge_ApplyLimits(array $params): string
{
    return s3bridge_simple('ApplyLimits', $params);
}

/** ostor: remove the account's storage quota and rate limits. */
function s3bridge_ClearLimits(array $params): string
{
    return s3bridge_simple('ClearLimits', $params);
}

/** Generates a new password by the product's rule and stores it on the service. */
function s3bridge_ResetPassword(array $params): string
{
    return s3bridge_simple('ResetPassword', $params);
}

/** Applies the standard or the limited policy, whichever the current usage calls for. */
function s3bridge_UpdatePolicy(array $params): string
{
    return s3bridge_simple('UpdatePolicy', $params);
}

function s3bridge_SetStandardPolicy(array $params): string
{
    return s3bridge_simple('SetStandardPolicy', $params);
}

function s3bridge_SetLimitedPolicy(array $params): string
{
    return s3bridge_simple('SetLimitedPolicy', $params);
}

// ---------------------------------------------------------------------------------------------------------------
// Internal helpers (not module functions: WHMCS never calls these by itself)
// ---------------------------------------------------------------------------------------------------------------

/**
 * The pattern for lifecycle functions and buttons: 'success' when the daemon answers ok, else the error sentence.
 */
function s3bridge_simple(string $function, array $params): string
{
    try {
        s3bridge_forward($function, $params);
    } catch (\Throwable $e) {
        $message = $e->getMessage();
        return $message !== '' ? $message : 's3bridge ' . $function . ' failed without a message';
    }
    return 'success';
}

/**
 * Forwards one module function to the daemon: sends the allow-listed $params, applies the returned effects, logs
 * the call with every secret masked, and returns the answer's `result`. Throws BridgeException (message safe to show).
 */
function s3bridge_forward(string $function, array $params): mixed
{
    if (!preg_match('/^[A-Za-z][A-Za-z0-9]*$/', $function)) {
        throw new BridgeException('s3bridge shim bug: invalid function name', 'bad_function');
    }
    $sent = s3bridge_allowed_params($params);
    $secrets = BridgeClient::collectSecrets($sent);
    $answer = null;
    try {
        $client = BridgeClient::fromEnvironment(__DIR__);
        $secrets = $client->secretsIn($sent);
        $answer = $client->call('/v1/module/' . $function, $sent);
        $secrets = $client->secretsIn($sent, $answer);
        $client->applyEffects($answer['effects'], $sent['serviceid'] ?? '');
    } catch (\Throwable $e) {
        if ($e instanceof BridgeException) {
            $safe = new BridgeException(
                BridgeClient::maskIn($e->getMessage(), $secrets),
                $e->errorCode,
                $e->httpStatus,
                $e->requestId,
                $e,
            );
        } else {
            $safe = new BridgeException(
                's3bridge module error in ' . $function . ': ' . get_class($e) . ': '
                . BridgeClient::maskIn($e->getMessage(), $secrets),
                'shim_error',
                0,
                '',
                $e,
            );
        }
        $logged = ['error' => [
            'code' => $safe->errorCode,
            'message' => $safe->getMessage(),
            'http_status' => $safe->httpStatus,
            'request_id' => $safe->requestId,
        ]];
        if ($answer !== null) {
            $logged['answer'] = $answer;
        }
        s3bridge_log($function, $sent, $logged, '', $secrets);
        throw $safe;
    }
    s3bridge_log($function, $sent, $answer, $answer['result'], $secrets);
    return $answer['result'];
}

/**
 * Server params, as WHMCS builds them for module calls, from a tblservers row (hooks get rows, not $params).
 * decrypt() is WHMCS's own function for its encrypted columns.
 */
function s3bridge_server_params(object $server): array
{
    return [
        'serverid' => (int) $server->id,
        'serverhostname' => (string) ($server->hostname !== '' ? $server->hostname : $server->ipaddress),
        'serverip' => (string) $server->ipaddress,
        'serverusername' => (string) $server->username,
        'serverpassword' => (string) decrypt((string) $server->password),
        'serveraccesshash' => (string) $server->accesshash,
        'serversecure' => ((string) $server->secure === 'on' || (string) $server->secure === '1') ? 'on' : '',
        'serverport' => (string) $server->port,
    ];
}

/** The allow-listed, object-free copy of WHMCS's $params sent to the daemon. */
function s3bridge_allowed_params(array $params): array
{
    $keys = S3BRIDGE_PARAM_KEYS;
    for ($i = 1; $i <= 24; $i++) {
        $keys[] = 'configoption' . $i;
    }
    $sent = [];
    foreach ($keys as $key) {
        if (array_key_exists($key, $params) && !is_object($params[$key]) && !is_resource($params[$key])) {
            $sent[$key] = s3bridge_plain($params[$key]);
        }
    }
    if (isset($params['clientsdetails']) && is_array($params['clientsdetails'])) {
        $client = [];
        foreach (S3BRIDGE_CLIENT_KEYS as $key) {
            if (array_key_exists($key, $params['clientsdetails']) && is_scalar($params['clientsdetails'][$key])) {
                $client[$key] = $params['clientsdetails'][$key];
            }
        }
        $sent['clientsdetails'] = $client;
    }
    // Maps stay JSON objects even when empty (PHP would encode [] as a JSON list).
    foreach (['configoptions', 'customfields', 'clientsdetails'] as $key) {
        if (isset($sent[$key]) && $sent[$key] === []) {
            $sent[$key] = new \stdClass();
        }
    }
    foreach ($params as $key => $value) {
        if (is_string($key) && str_starts_with($key, 'bridge_') && !is_object($value) && !is_resource($value)) {
            $sent[$key] = s3bridge_plain($value);
        }
    }
    // Who is asking: the daemon lets a client see only their own services (admins and the cron see all).
    unset($sent['bridge_client_id'], $sent['bridge_admin_id']);
    if (!empty($_SESSION['adminid'])) {
        $sent['bridge_admin_id'] = (int) $_SESSION['adminid'];
    }
    if (!empty($_SESSION['uid'])) {
        $sent['bridge_client_id'] = (int) $_SESSION['uid'];
    }
    return $sent;
}

/** Drops objects and resources at any depth (WHMCS passes models, e.g. $params['model']). */
function s3bridge_plain(mixed $value): mixed
{
    if (is_array($value)) {
        $out = [];
        foreach ($value as $k => $v) {
            if (!is_object($v) && !is_resource($v)) {
                $out[$k] = s3bridge_plain($v);
            }
        }
        return $out;
    }
    return $value;
}

/** logModuleCall with every secret in $replaceVars (WHMCS masks them before storing in tblmodulelog). */
function s3bridge_log(string $function, array $request, mixed $response, mixed $processed, array $secrets): void
{
    if (function_exists('logModuleCall')) {
        logModuleCall('s3bridge', $function, $request, $response, $processed, array_values($secrets));
    }
}
