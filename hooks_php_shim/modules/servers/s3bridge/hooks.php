<?php

/**
 * s3bridge WHMCS hooks. AfterCronJob (every cron run, usually every 5 minutes): the daemon re-checks the disk limits of
 * every service of every enabled s3bridge server with one admin call per server, changing policies only where needed.
 * DailyCronJob: the daemon reconciles every enabled server with WHMCS (config.php 'reconcile' / 'reconcile_fix').
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

add_hook('AfterCronJob', 1, function (): void {
    require_once __DIR__ . '/s3bridge.php';
    S3Bridge\Bridge::cron();
});

add_hook('DailyCronJob', 1, function (): void {
    require_once __DIR__ . '/s3bridge.php';
    S3Bridge\Bridge::dailyCron();
});
