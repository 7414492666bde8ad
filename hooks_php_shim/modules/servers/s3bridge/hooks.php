<?php

/**
 * s3bridge WHMCS hooks (loaded by WHMCS on every request: keep this file cheap).
 *
 * Placeholder. Hooks forward to the daemon under /v1/hook/<Name> with the same signed channel as the module
 * (docs/PROTOCOL.md), through S3Bridge\BridgeClient in lib/. AfterCronJob comes in a later issue, e.g.:
 *
 *     add_hook('AfterCronJob', 1, function (array $vars): void {
 *         // forward to /v1/hook/AfterCronJob and apply the returned effects
 *     });
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}
