<?php

/**
 * STAND-IN FOR WHMCS's CLIENT AREA, FOR TESTS AND THE DEMO ONLY. Not WHMCS and not part of the product.
 *
 * A router for PHP's built-in server (`php -S host:port rig/whmcs_standin/clientarea.php`) over the stand-in
 * database, so a browser can use the module's client area the way a customer does:
 *   /login?uid=N                        logs client N in (a PHP session, like WHMCS's) and goes to their service
 *   /login?uid=N&adminid=A              admin A's "Login as Client": WHMCS keeps the admin and the client in one
 *                                       session, so the client pages see both ids (DESIGN)
 *   /clientarea.php?action=productdetails&id=S
 *                                       the service page: refused unless the logged-in client owns S (WHMCS
 *                                       answers with its own page); the module's ClientArea output inside a
 *                                       client-theme shell
 *   /clientarea.php?action=productdetails&id=S&modop=custom&a=F
 *                                       a custom function, allowed only if listed by ClientAreaCustomButtonArray or
 *                                       ClientAreaAllowedFunctions; an array answer with 'templatefile' is shown
 *                                       as a page, a string as the success or error message
 *   /cart.php?a=add&pid=N, ?a=view      WHMCS's shopping cart in the session ($_SESSION['cart']['products'])
 *   /bootstrap.min.css                  Bootstrap 4 (env STANDIN_BOOTSTRAP_CSS), like WHMCS's theme
 * WHMCS functions provided: generate_token / check_token (a per-session token; a mismatch ends the session and
 * redirects to the login page), localAPI (the actions of whmcs_actions.php against the database, input decoded then
 * encoded as WHMCS does), logModuleCall, decrypt. As in WHMCS (sources in standin.php and smarty.php): request input
 * ($_GET, $_POST, $_REQUEST) is entity-encoded before the module runs; custom functions run only for Active
 * services, and ClientArea is still called after one (its answer discarded when the function answered with a page);
 * template variables are entity-decoded (strings only) and the module's templates (templates/overview.tpl,
 * templates/panel.tpl) rendered by SmartyBC 3.1 under WHMCS's system security policy.
 * Env: STANDIN_DB_DSN / _USER / _PASSWORD, S3BRIDGE_URL / S3BRIDGE_SECRET, STANDIN_BOOTSTRAP_CSS.
 */

declare(strict_types=1);

define('WHMCS', true);
define('CLIENTAREA', true);  // as WHMCS's clientarea.php does: the pages say their area
require_once __DIR__ . '/whmcs_actions.php';
require_once __DIR__ . '/smarty.php';
require_once __DIR__ . '/Capsule.php';  // WHMCS\Database\Capsule and WHMCS\Config\Setting, as in WHMCS
require_once __DIR__ . '/Setting.php';

session_start();
// WHMCS entity-encodes request input before any module code runs (issue 20 item 8; modules decode it themselves).
$standinEncode = function ($value) use (&$standinEncode) {
    return is_array($value) ? array_map($standinEncode, $value)
        : (is_string($value) ? htmlspecialchars($value, ENT_QUOTES, 'UTF-8') : $value);
};
$_GET = $standinEncode($_GET);
$_POST = $standinEncode($_POST);
$_REQUEST = array_merge($_GET, $_POST);
$path = (string) parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/'), PHP_URL_PATH);
$pdo = new PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
    (string) getenv('STANDIN_DB_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC]);

function standin_whmcs_functions(): void
{
}

function logModuleCall(...$args): void
{
}

function decrypt(string $value): string
{
    return standin_decrypt($value);
}

/** localAPI: Sanitize::encode(Sanitize::decode(...)) on every input value (DESIGN), then the action. */
function localAPI($command, $values, $admin = '')
{
    global $pdo;
    $clean = function ($value) use (&$clean) {
        return is_array($value) ? array_map($clean, $value) : (is_string($value)
            ? htmlspecialchars(html_entity_decode($value, ENT_QUOTES, 'UTF-8'), ENT_QUOTES, 'UTF-8') : $value);
    };
    if ((string) $command === 'AddOrder') {
        $_SESSION['cart'] = [];  // AddOrder inside the client's session empties the cart (DESIGN, as standin.php)
    }
    return standin_api_action($pdo, (string) $command, $clean(is_array($values) ? $values : []));
}

function generate_token(string $type = 'plain'): string
{
    if (empty($_SESSION['tkval'])) {
        $_SESSION['tkval'] = bin2hex(random_bytes(20));
    }
    return $type === 'plain' ? $_SESSION['tkval'] : '<input type="hidden" name="token" value="' . $_SESSION['tkval'] . '">';
}

/** WHMCS: a missing or wrong token in the client area ends the session and redirects to the login page (DESIGN
 * "More, from WHMCS 8.7's own code paths"). */
function check_token(string $namespace = 'WHMCS.default'): void
{
    $given = $_POST['token'] ?? '';
    if (!is_string($given) || empty($_SESSION['tkval']) || !hash_equals((string) $_SESSION['tkval'], $given)) {
        $_SESSION = [];
        session_destroy();
        header('Location: /login.php?invalidtoken=1', true, 302);
        echo 'Invalid CSRF Protection Token';
        exit;
    }
}

/** The module's template as WHMCS renders it: variables entity-decoded (strings only; objects pass untouched), then
 * SmartyBC 3.1 under WHMCS's system security policy (smarty.php). */
function standin_module_template(string $template, array $vars): string
{
    $smarty = standin_smarty(dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge', 'system');
    foreach ($vars as $name => $value) {
        $smarty->assign((string) $name, is_string($value) ? html_entity_decode($value, ENT_QUOTES, 'UTF-8') : $value);
    }
    $smarty->assign('token', generate_token('plain'));
    $file = preg_match('/\.tpl$/', $template) ? $template : $template . '.tpl';
    $html = (string) $smarty->fetch($file);
    // Says which template and engine made the part (tests check the page went through WHMCS's Smarty).
    return '<div class="whmcs-module-template" data-template="' . htmlspecialchars($file) . '" data-engine="'
        . htmlspecialchars(get_class($smarty) . ' ' . Smarty::SMARTY_VERSION . ' '
        . get_class($smarty->security_policy)) . '">' . $html . '</div>';
}

function standin_shell(string $title, string $body, string $lang = 'en'): void
{
    header('Content-Type: text/html; charset=utf-8');
    echo '<!DOCTYPE html><html lang="' . $lang . '"><head><meta charset="utf-8">'
        . '<meta name="viewport" content="width=device-width, initial-scale=1"><title>' . htmlspecialchars($title)
        . ' - Client Area</title><link rel="stylesheet" href="/bootstrap.min.css"></head><body class="primary-bg-color">'
        . '<header class="header"><nav class="navbar navbar-light bg-light"><a class="navbar-brand" href="#">Hosting Co'
        . '</a></nav></header><section id="main-body"><div class="container"><div class="row">'
        . '<div class="col-lg-4 col-xl-3 d-none d-lg-block"><div class="card"><div class="card-header">Manage</div>'
        . '<div class="list-group list-group-flush"><a class="list-group-item" href="#">Overview</a></div></div></div>'
        . '<div class="col-lg-8 col-xl-9 primary-content">' . $body . '</div></div></div></section></body></html>';
}

if ($path === '/bootstrap.min.css') {
    header('Content-Type: text/css');
    readfile((string) getenv('STANDIN_BOOTSTRAP_CSS'));
    exit;
}
if ($path === '/login.php') {  // where WHMCS sends a client whose session ended
    http_response_code(200);
    standin_shell('Login', '<div class="alert alert-info" id="whmcs-login">Please log in</div>');
    exit;
}
if ($path === '/login') {
    $_SESSION = ['uid' => (int) ($_GET['uid'] ?? 0)] + (empty($_GET['adminid']) ? []
        : ['adminid' => (int) $_GET['adminid']]);
    session_regenerate_id(true);
    $q = $pdo->prepare("SELECT id FROM tblhosting WHERE userid = ? AND domainstatus IN ('Active', 'Suspended')"
        . ' ORDER BY id DESC LIMIT 1');
    $q->execute([(int) $_SESSION['uid']]);
    header('Location: /clientarea.php?action=productdetails&id=' . (int) $q->fetchColumn());
    exit;
}
if ($path === '/cart.php') {  // WHMCS's cart: a=add&pid=N puts a product in the session's cart; a=view shows it
    if (($_GET['a'] ?? '') === 'add') {
        $_SESSION['cart']['products'][] = ['pid' => (int) ($_GET['pid'] ?? 0), 'billingcycle' => 'monthly'];
    }
    standin_shell('Shopping Cart', '<pre id="cart">' . htmlspecialchars((string) json_encode($_SESSION['cart'] ?? []))
        . '</pre>');
    exit;
}
if ($path !== '/clientarea.php' || ($_GET['action'] ?? '') !== 'productdetails') {
    http_response_code(404);
    standin_shell('Not found', '<p>Not found</p>');
    exit;
}
$serviceId = (int) ($_GET['id'] ?? 0);
$service = standin_service($pdo, $serviceId);
if (empty($_SESSION['uid']) || $service === null || (int) $service['userid'] !== (int) $_SESSION['uid']) {
    http_response_code(403);  // WHMCS shows its own "not found / not yours" page; the module is never called
    standin_shell('Access denied', '<div class="alert alert-danger">Access denied</div>');
    exit;
}
$params = standin_service_params($pdo, $serviceId);
require_once dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge/s3bridge.php';
$lang = (string) ($params['clientsdetails']['language'] ?? '');
$title = 'Product Details';
if (($_GET['modop'] ?? '') === 'custom') {
    $function = (string) ($_GET['a'] ?? '');
    $allowed = array_merge(array_values(s3bridge_ClientAreaCustomButtonArray($params)),
        function_exists('s3bridge_ClientAreaAllowedFunctions') ? s3bridge_ClientAreaAllowedFunctions() : []);
    if (!in_array($function, $allowed, true) || !function_exists('s3bridge_' . $function)) {
        standin_shell($title, '<div class="alert alert-danger">Invalid custom function</div>');
        exit;
    }
    if ((string) $service['domainstatus'] !== 'Active') {  // custom functions run only for Active services
        standin_shell($title, '<div class="alert alert-danger">This service is not active</div>');
        exit;
    }
    $out = ('s3bridge_' . $function)($params);
    $area = s3bridge_ClientArea($params);  // WHMCS builds the service page all the same
    if (is_array($out) && isset($out['templatefile'])) {  // the function's own page: ClientArea's answer discarded
        standin_shell($title, standin_module_template((string) $out['templatefile'], (array) ($out['vars'] ?? [])));
        exit;
    }
    $text = $out === 'success' ? 'Action Completed Successfully' : (string) $out;
    $module = isset($area['tabOverviewModuleOutputTemplate']) ? standin_module_template(
        (string) $area['tabOverviewModuleOutputTemplate'], (array) ($area['templateVariables'] ?? [])) : '';
    standin_shell($title, '<div class="alert alert-info">' . htmlspecialchars($text) . '</div>'
        . '<div class="product-details-tab-container">' . $module . '</div>');
    exit;
}
$out = s3bridge_ClientArea($params);
$template = (string) ($out['tabOverviewModuleOutputTemplate'] ?? $out['templatefile'] ?? '');
$module = $template !== '' ? standin_module_template($template, (array) ($out['templateVariables'] ?? $out['vars']
    ?? [])) : '';
standin_shell($title, '<div class="product-details-tab-container">' . $module . '</div>');
