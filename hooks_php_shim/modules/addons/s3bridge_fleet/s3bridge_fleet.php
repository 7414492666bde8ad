<?php

/**
 * s3bridge_fleet: the WHMCS addon module of the S3 Bridge, the operator's view of every storage server and service
 * (Servers, Accounts, Drift). PHP 7.4+ glue like the server module: the pages are rendered (and escaped) by the
 * s3bridge daemon, reached through the server module's signed channel with its config.php
 * (modules/servers/s3bridge/config.php). WHMCS's addon access control (Setup > Addon Modules > Configure) decides
 * which admin roles may open it.
 *
 * Its functions are named s3bridge_fleet_*: PHP ignores case in function names, and none of the server module's
 * s3bridge_<Function> names may ever be defined twice in one request (tests/test_fleet_console.py checks).
 */

declare(strict_types=1);

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once dirname(__DIR__, 2) . '/servers/s3bridge/lib/Bridge.php';
require_once __DIR__ . '/lib/Console.php';

/** WHMCS's addon configuration (docs: Addon Modules, Configuration). */
function s3bridge_fleet_config(): array
{
    return ['name' => 'S3 Bridge Fleet', 'description' => 'Every S3 storage server and service at a glance:'
        . ' servers and daemons, accounts, and where WHMCS and the storage disagree.',
        'version' => '1.0', 'author' => 'whmcs-s3-bridge', 'language' => 'english', 'fields' => []];
}

/** The admin page (docs: Addon Modules, Admin Area Output): WHMCS passes $vars with 'modulelink'. */
function s3bridge_fleet_output(array $vars): void
{
    echo \S3BridgeFleet\Console::page($vars);
}
