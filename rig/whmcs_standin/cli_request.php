<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY. Not WHMCS and not part of the product.
 *
 * One HTTP request to a stand-in page, run by the PHP CLI as a CGI would run it, for the PHP versions that run no
 * web server here (php-wasm under node: 7.4, 8.0, 8.1, 8.3). rig/panel_sites.py's front reads the HTTP request and
 * passes it on stdin as JSON: {"script": "api.php", "server": {...}, "get": {...}, "post": {...}} ($_SERVER entries,
 * the query and the form as PHP parses them); what the page prints is the answer's body. Only the pages listed
 * below, and only what they read of the request: api.php (the HTTP method, the caller's address, the form).
 * The PHP version goes to stderr as the X-Powered-By line PHP's web servers send (the front answers with it).
 */

declare(strict_types=1);

const STANDIN_CLI_PAGES = ['api.php'];

$standinRequest = json_decode((string) stream_get_contents(STDIN), true);
$standinPage = is_array($standinRequest) ? (string) ($standinRequest['script'] ?? '') : '';
if (!in_array($standinPage, STANDIN_CLI_PAGES, true)) {
    fwrite(STDERR, 'cli_request.php: stdin must name one of ' . implode(', ', STANDIN_CLI_PAGES) . "\n");
    exit(2);
}
foreach ((array) ($standinRequest['server'] ?? []) as $key => $value) {
    $_SERVER[(string) $key] = (string) $value;
}
$_GET = (array) ($standinRequest['get'] ?? []);
$_POST = (array) ($standinRequest['post'] ?? []);
$_REQUEST = array_merge($_GET, $_POST);
unset($standinRequest);
fwrite(STDERR, 'X-Powered-By: PHP/' . PHP_VERSION . "\n");
chdir(__DIR__);
require __DIR__ . '/' . $standinPage;
