<?php

/**
 * s3bridge WHMCS hooks (loaded by WHMCS on every request: keep this file cheap; work happens only inside hooks).
 *
 * AfterCronJob (every WHMCS cron run, usually every 5 minutes): for every enabled server of this module, forward
 * its decrypted server params to the daemon's EnforceLimits, which re-checks the disk limits of all services on
 * that server with one admin call and changes policies only where needed. Emails it asks for come back as effects
 * and are sent here. A failing server is logged and does not stop the others.
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

use WHMCS\Database\Capsule;

add_hook('AfterCronJob', 1, function (array $vars): void {
    require_once __DIR__ . '/s3bridge.php';
    $servers = Capsule::table('tblservers')->where('type', 's3bridge')->where('disabled', 0)->get();
    foreach ($servers as $server) {
        try {
            s3bridge_forward('EnforceLimits', s3bridge_server_params($server));
        } catch (\Throwable $e) {
            // already logged with logModuleCall by s3bridge_forward; keep checking the other servers
        }
    }
});
