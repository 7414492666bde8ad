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
 * Product settings. The order fixes configoption1..N in $params: 1 = Storage backend, 2 = Disk space size,
 * 3 = Unit. Placeholder list; the full set (at most 24) is filled in by a later issue.
 */
function s3bridge_ConfigOptions(): array
{
    return [
        // configoption1
        'Storage backend' => [
            'Type' => 'dropdown',
            'Options' => ['minio' => 'MinIO'],
            'Default' => 'minio',
            'Description' => 'The storage backend of the servers this product is placed on',
        ],
        // configoption2
        'Disk space size' => [
            'Type' => 'text',
            'Size' => '10',
            'Default' => '0',
            'Description' => 'Quota in the unit below (0 = unlimited)',
        ],
        // configoption3
        'Unit' => [
            'Type' => 'dropdown',
            'Options' => 'MB,GB,TB,PB',
            'Default' => 'GB',
            'Description' => 'Unit of the disk space size',
        ],
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
