<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY. This is not WHMCS and not part of the product.
 *
 * WHMCS is proprietary and cannot run here, so the tests load the real s3bridge module in this stand-in. It must be
 * as strict as WHMCS, never kinder: every behaviour below names its source. "DESIGN" means /work/shared/DESIGN.md,
 * section "What a real WHMCS does that a kind stand-in hides" (checked against WHMCS's developer docs and a decoded
 * WHMCS 8.12 install); "docs" means developers.whmcs.com. Runs on PHP 7.4 to 8.4 (the versions WHMCS supports).
 *
 * Usage: php rig/whmcs_standin/standin.php < request.json; prints ONE JSON object. Request keys:
 *   function        s3bridge_<function>($params) is called (or "hook": "AfterCronJob" runs the module's hooks.php)
 *   params          the service's fields; the stand-in turns them into the $params WHMCS passes (types, keys)
 *   context         "web" (default) | "cron" (PHP CLI, no web-server environment) | "client_button" (a client
 *                   calls a custom function) | "admin_ac" (an admin URL with ac=<function>) | "client" (a client
 *                   page) | "admin" (an admin page). WHMCS's pages say their area with a constant: clientarea.php
 *                   defines CLIENTAREA, the admin area ADMINAREA; "web" defines CLIENTAREA when the session holds a
 *                   client, else ADMINAREA when it holds an admin. WHMCS keeps the admin and the client in one
 *                   session ("Login as Client", DESIGN): a client page may see an adminid in it
 *   request         {"method": "GET"|"POST", "post": {...}, "get": {...}, "server": {...}} the HTTP request
 *                   ("server": $_SERVER entries such as HTTP_HOST; client_button default:
 *                   a tokenless GET); WHMCS entity-encodes $_GET, $_POST and $_REQUEST before the module runs
 *   session         {"uid": N} or {"adminid": N}; a CSRF token is kept in it ("token", default random);
 *                   "permissions": [...] the logged-in user's permissions on the account (default: the owner's, all)
 *   service         WHMCS's own fields of the service (status, billingcycle, nextduedate): a client's custom
 *                   function runs only when status is Active (default Active); ClientArea render shows them
 *   module_debug    Module Debug Mode (default false, as in WHMCS): logModuleCall writes only when true
 *   render          ClientArea, or a client's custom function answering with a template: render it as WHMCS
 *                   would (decode, SmartyBC 3.1 under WHMCS's system security policy, smarty.php; the overview)
 *   localapi_responses {"Command": {...}} canned localAPI answers (default {"result": "success"})
 *   module_dir      the installed module (default: the repository's hooks_php_shim module)
 *   timezone        WHMCS's timezone (PHP's default timezone in WHMCS; default UTC)
 *   tenant          MetricProvider: the tenant whose usage the admin refreshes (UsageBilling.php runs the provider
 *                   as WHMCS's Tenant Usage Metrics cron does and returns what WHMCS stores)
 *   localapi_db     localAPI commands run against the database by whmcs_actions.php (as the client area and api.php
 *                   run them: AddOrder writes the order, its Pending services and its invoice; AcceptOrder runs the
 *                   module's CreateAccount; UpdateClientProduct stores the credentials) instead of canned answers
 *   api             instead of "function": an API action run as the admin area runs it (e.g. "AcceptOrder": the admin's
 *                   Accept Order button) with "values", by whmcs_actions.php against the database; the module
 *                   functions it runs are the installed module's, on this PHP (php-wasm can run no web server, so
 *                   api.php cannot serve PHP 7.4: this is the same action without the HTTP around it)
 * Output: return, module_log, local_api, output, page (rendered ClientArea), exception, php_errors, session (the
 * PHP session after the request: [] when WHMCS ended it). Database access
 * (WHMCS\Database\Capsule, Capsule.php) uses env STANDIN_DB_DSN / STANDIN_DB_USER / STANDIN_DB_PASSWORD.
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');
error_reporting(E_ALL);

define('WHMCS', true);
require_once __DIR__ . '/Capsule.php';
require_once __DIR__ . '/Setting.php';
require_once __DIR__ . '/Status.php';
require_once __DIR__ . '/UsageBilling.php';
require_once __DIR__ . '/smarty.php';
require_once __DIR__ . '/whmcs_actions.php';

final class WhmcsStandin
{
    /** @var array */
    public static $moduleLog = [];
    /** @var array */
    public static $localApi = [];
    /** @var array */
    public static $localApiResponses = [];
    /** @var array */
    public static $phpErrors = [];
    /** @var bool */
    public static $printed = false;
    /** @var array */
    public static $hooks = [];
    /** @var array localAPI commands run against the database (request "localapi_db") */
    public static $localApiDb = [];
    /** @var bool */
    public static $debug = false;
    /** @var array */
    public static $result = ['return' => null, 'page' => null, 'exception' => null, 'output' => ''];

    public static function emit(int $code): void
    {
        self::$printed = true;
        echo json_encode(self::$result + ['module_log' => self::$moduleLog, 'local_api' => self::$localApi,
            'php_errors' => self::$phpErrors, 'session' => $_SESSION ?? []], JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE
            | JSON_PARTIAL_OUTPUT_ON_ERROR), "\n";
        exit($code);
    }

    /** Sanitize::decode, applied by WHMCS to module template variables (DESIGN): html_entity_decode(ENT_QUOTES) on
     * every string at any depth; objects (e.g. with __toString) pass untouched. */
    public static function decode($value)
    {
        if (is_string($value)) {
            return html_entity_decode($value, ENT_QUOTES, 'UTF-8');
        }
        return is_array($value) ? array_map([self::class, 'decode'], $value) : $value;
    }

    /** localAPI HTML-encodes every input value (DESIGN). */
    public static function encode($value)
    {
        if (is_string($value)) {
            return htmlspecialchars($value, ENT_QUOTES, 'UTF-8');
        }
        return is_array($value) ? array_map([self::class, 'encode'], $value) : $value;
    }

    public static function text($value): string
    {
        return is_array($value) || is_object($value) ? print_r($value, true) : (is_bool($value) ? ($value ? '1' : '') : (string) $value);
    }
}

/** WHMCS passes an Eloquent model as $params['model'] (docs: module parameters); it must never be sent on. */
final class WhmcsStandinServiceModel
{
    /** @var mixed */
    public $id;
    /** @var string */
    public $password = 'model-object-must-not-be-sent';

    public function __construct($id)
    {
        $this->id = $id;
    }
}

/** logModuleCall (docs: module logging; DESIGN): writes only when Module Debug Mode is on, lower-cases module and
 * action, and masks each $replaceVars value with '*' repeated to its length. */
function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    if (!WhmcsStandin::$debug) {
        return;
    }
    $mask = function ($value) use ($replaceVars): string {
        $text = WhmcsStandin::text($value);
        foreach ((array) $replaceVars as $var) {
            if (is_scalar($var) && (string) $var !== '') {
                $text = str_replace((string) $var, str_repeat('*', strlen((string) $var)), $text);
            }
        }
        return $text;
    };
    $entry = ['module' => strtolower((string) $module), 'action' => strtolower((string) $action),
        'request' => $requestString, 'response' => $responseData, 'processed' => $processedData,
        'replace_vars' => array_values((array) $replaceVars), 'masked' => ['request' => $mask($requestString),
            'response' => $mask($responseData), 'processed' => $mask($processedData)]];
    WhmcsStandin::$moduleLog[] = $entry;
    // WHMCS stores the masked texts in tblmodulelog (Utilities > Logs > Module Log): so does the stand-in when it
    // has a database.
    if ((string) getenv('STANDIN_DB_DSN') !== '') {
        $pdo = new PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
            (string) getenv('STANDIN_DB_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
        $pdo->prepare('INSERT INTO tblmodulelog (date, module, action, request, response, arrdata)'
            . ' VALUES (NOW(), ?, ?, ?, ?, ?)')->execute([$entry['module'], $entry['action'],
            $entry['masked']['request'], $entry['masked']['response'], $entry['masked']['processed']]);
    }
}

/**
 * localAPI (docs: localAPI; DESIGN "More, from WHMCS 8.7's own code paths"): every input value goes through
 * Sanitize::encode(Sanitize::decode(...)), so text that was escaped arrives escaped once, whatever it was before.
 * SendEmail (sendemail.php) decodes `customsubject` and `custommessage` again, renders both as Smarty templates under
 * WHMCS's mail security policy with the merge fields and the `customvars` (base64 of a serialized array, passed
 * untouched), and runs nl2br on the body unless `nonl2br` is passed (8.12's code): a template that does not compile
 * fails the call. The admin-user argument is optional since 7.2.
 */
function localAPI($command, $values, $adminUser = '')
{
    $received = WhmcsStandin::encode(WhmcsStandin::decode($values));
    $call = ['command' => $command, 'values' => $values, 'received' => $received, 'admin_user' => $adminUser];
    if ($command === 'AddOrder' && !empty($_SESSION['uid'])) {
        // AddOrder inside a client's session empties the client's shopping cart (DESIGN "More, from WHMCS 8.7's
        // own code paths"); the order it places stays Pending ("setup on order" ignored).
        $_SESSION['cart'] = [];
    }
    $answer = WhmcsStandin::$localApiResponses[$command] ?? ['result' => 'success'];
    if (in_array($command, WhmcsStandin::$localApiDb, true)) {
        $answer = standin_api_action(standin_pdo(), (string) $command, $received);
    }
    if ($command === 'SendEmail' && isset($received['custommessage'])) {
        $vars = standin_email_vars($received);
        try {
            $subject = standin_smarty_string(WhmcsStandin::decode((string) ($received['customsubject'] ?? '')), $vars);
            $body = standin_smarty_string(WhmcsStandin::decode((string) $received['custommessage']), $vars);
            $call['delivered_subject'] = $subject;
            $call['delivered_body'] = empty($received['nonl2br']) ? nl2br($body) : $body;
        } catch (\Throwable $e) {
            $answer = ['result' => 'error', 'message' => 'Email could not be sent: the template failed ('
                . get_class($e) . ')'];
            $call['delivered_body'] = null;
        }
    }
    $call['answer'] = $answer;
    WhmcsStandin::$localApi[] = $call;
    return is_array($answer) ? $answer : ['result' => 'error', 'message' => 'stand-in: bad canned answer'];
}

/** The variables a custom product email is rendered with: WHMCS's merge fields for the client and the service
 * (some hold what a customer typed, e.g. the name; one is the service's password), then `customvars`. */
function standin_email_vars(array $received): array
{
    $vars = ['client_name' => 'Client Name', 'client_first_name' => 'Client', 'service_id' => $received['id'] ?? '',
        'service_password' => 'standin-service-password', 'client_password' => 'standin-client-password',
        'signature' => 'Hosting Co'];
    $custom = base64_decode((string) ($received['customvars'] ?? ''), true);
    $custom = is_string($custom) && $custom !== '' ? @unserialize($custom, ['allowed_classes' => false]) : [];
    return array_merge($vars, is_array($custom) ? $custom : []);
}

/** The stand-in database (env STANDIN_DB_DSN / _USER / _PASSWORD), as WHMCS's own connection. */
function standin_pdo(): PDO
{
    static $pdo = null;
    if ($pdo === null) {
        $pdo = new PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
            (string) getenv('STANDIN_DB_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
            PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC]);
    }
    return $pdo;
}

/** whmcs_actions.php loads the module only when no copy is loaded: here the request's installed module is. */
function standin_whmcs_functions(): void
{
}

/** WHMCS's decrypt() of tblservers.password. Its scheme is undocumented: the tests store 'standin-enc:' . base64. */
function decrypt($value)
{
    return strpos((string) $value, 'standin-enc:') === 0 ? (string) base64_decode(substr((string) $value, 12), true) : '';
}

/** add_hook (docs: hooks): callbacks by hook name and priority. */
function add_hook($hookName, $priority, $callback)
{
    WhmcsStandin::$hooks[$hookName][] = [(int) $priority, $callback];
}

/** WHMCS's CSRF token (DESIGN: WHMCS's own forms carry a token checked with check_token()): one per session. */
function generate_token($type = 'form')
{
    $token = (string) $_SESSION['token'];
    return $type === 'plain' ? $token : '<input type="hidden" name="token" value="' . $token . '" />';
}

/** check_token: compares the request's token with the session's. On a mismatch in the client area WHMCS ends the
 * session and redirects to the login page (DESIGN "More, from WHMCS 8.7's own code paths"); the module gets no
 * chance to go on. */
function check_token($namespace = 'WHMCS.default', $token = '')
{
    $given = $token !== '' ? $token : ($_POST['token'] ?? $_GET['token'] ?? '');
    if (!is_string($given) || !hash_equals((string) $_SESSION['token'], $given)) {
        $_SESSION = [];
        die('Invalid CSRF Protection Token: logged out, redirected to login.php');
    }
    return true;
}

/** The $params WHMCS builds (DESIGN "$params types"; docs: module parameters, UsageUpdate): serversecure a bool,
 * serverport an int (or MetaData's default port string when the server has none), a model object, and for
 * UsageUpdate only the seven server keys (no port). */
function standin_params(string $function, array $given): array
{
    $secure = in_array($given['serversecure'] ?? '', ['on', '1', 1, true], true);
    $params = $given;
    if (array_key_exists('serversecure', $given)) {
        $params['serversecure'] = $secure;
    }
    if (array_key_exists('serverport', $given)) {
        $meta = s3bridge_MetaData();
        $port = $given['serverport'];
        $params['serverport'] = is_numeric($port) && (int) $port > 0 ? (int) $port
            : $meta[$secure ? 'DefaultSSLPort' : 'DefaultNonSSLPort'];
    }
    if ($function === 'MetricProvider' || $function === 'ListAccounts') {
        // Server::getMetricProvider() and the Server Sync Tool: the server's params (docs: Usage Metrics sample,
        // Server Sync), no service keys.
        return array_filter($params, function ($key): bool {
            return strpos((string) $key, 'server') === 0;
        }, ARRAY_FILTER_USE_KEY);
    }
    if ($function === 'UsageUpdate') {
        $keys = ['serverid', 'serverip', 'serverhostname', 'serverusername', 'serverpassword', 'serveraccesshash',
            'serversecure'];
        return array_intersect_key($params, array_flip($keys));
    }
    $params['model'] = new WhmcsStandinServiceModel($given['serviceid'] ?? 0);
    return $params;
}

/** ClientArea output as the client sees it (docs: client area output; DESIGN): template variables are decoded, the
 * template is rendered with real Smarty (Debian's smarty4 or smarty3), and the overview tab keeps WHMCS's own
 * overview (status, billing cycle, next due date, cancellation) only with tabOverviewModuleOutputTemplate. */
function standin_render(array $returned, array $params, string $moduleDir, array $service): string
{
    $template = $returned['tabOverviewModuleOutputTemplate'] ?? $returned['tabOverviewReplacementTemplate']
        ?? $returned['templatefile'] ?? null;
    $module = '';  // no template: WHMCS's own overview alone
    if (is_string($template)) {
        $template = preg_match('/\.tpl$/', $template) ? $template : $template . '.tpl';
        $smarty = standin_smarty($moduleDir, 'system');
        // The module's $params are template variables too (docs: "the same module vars as passed to every module
        // function"), then what ClientArea returned; all of them decoded.
        $vars = WhmcsStandin::decode(array_merge(array_diff_key($params, ['model' => 1]),
            (array) ($returned['templateVariables'] ?? $returned['vars'] ?? [])));
        foreach ((array) $vars as $name => $value) {
            $smarty->assign((string) $name, $value);
        }
        $smarty->assign('token', generate_token('plain'));
        $module = $smarty->fetch($template);
    }
    if (isset($returned['templatefile'])) {
        return '<div id="whmcs-custom-page">' . $module . '</div>';  // a custom function's page: its template alone
    }
    $e = function (string $k) use ($service): string {
        return htmlspecialchars((string) ($service[$k] ?? ''), ENT_QUOTES, 'UTF-8');
    };
    $overview = '<div id="whmcs-overview"><p>Status: <span id="whmcs-status">' . $e('status') . '</span></p>'
        . '<p>Billing Cycle: ' . $e('billingcycle') . '</p><p>Next Due Date: ' . $e('nextduedate') . '</p>'
        . '<a id="whmcs-cancel" href="clientarea.php?action=cancel&amp;id=' . $e('id') . '">Request Cancellation</a></div>';
    if (isset($returned['tabOverviewReplacementTemplate'])) {
        $overview = '';
    }
    return '<div id="tabOverview">' . $overview . '<div id="whmcs-module-output">' . $module . '</div></div>';
}

set_error_handler(function (int $type, string $message, string $file, int $line): bool {
    WhmcsStandin::$phpErrors[] = ['type' => $type, 'message' => $message, 'file' => $file, 'line' => $line];
    return true;
});

$input = json_decode((string) stream_get_contents(STDIN), true);
$name = is_array($input) ? ($input['hook'] ?? $input['addon'] ?? $input['api'] ?? $input['function'] ?? null)
    : null;
if (!is_string($name) || !preg_match('/^[A-Za-z][A-Za-z0-9_]*$/', $name)) {
    WhmcsStandin::$result['exception'] = ['class' => 'StandinError', 'message' => 'stdin: a JSON object with "function"'];
    WhmcsStandin::emit(2);
}
$isHook = isset($input['hook']);
$context = (string) ($input['context'] ?? 'web');
// UsageUpdate and hooks run from WHMCS's cron: `php -q crons/cron.php` (DESIGN "Cron is CLI").
if ($isHook || $name === 'UsageUpdate') {
    $context = 'cron';
}
if ($context === 'cron') {
    // No web-server environment reaches the CLI cron (DESIGN; PHP-FPM's clear_env = yes has the same effect).
    foreach (array_merge(array_keys($_SERVER), array_keys($_ENV), array_keys(getenv())) as $key) {
        if (strpos((string) $key, 'S3BRIDGE_') === 0) {
            putenv((string) $key);
            unset($_SERVER[$key], $_ENV[$key]);
        }
    }
    $input['session'] = [];
}
$_SESSION = (array) ($input['session'] ?? []);
$_SESSION['token'] = $_SESSION['token'] ?? bin2hex(random_bytes(20));
if (in_array($context, ['client', 'client_button'], true) || ($context === 'web' && !empty($_SESSION['uid']))) {
    define('CLIENTAREA', true);
} elseif (in_array($context, ['admin', 'admin_ac'], true) || ($context === 'web' && !empty($_SESSION['adminid']))) {
    define('ADMINAREA', true);
}
$request = (array) ($input['request'] ?? []);
// Client custom buttons are plain GET links without a token (DESIGN "Client custom buttons").
$_SERVER['REQUEST_METHOD'] = $context === 'cron' ? null : (string) ($request['method'] ?? 'GET');
// The web server's variables of the request (e.g. HTTP_HOST, HTTPS: unset behind a TLS-terminating proxy).
foreach ((array) ($request['server'] ?? []) as $key => $value) {
    $_SERVER[(string) $key] = (string) $value;
}
// WHMCS entity-encodes request input before any module code runs (issue 20 item 8: modules decode $_POST for
// this reason): htmlspecialchars(ENT_QUOTES) on every value at any depth.
$_POST = WhmcsStandin::encode((array) ($request['post'] ?? []));
$_GET = WhmcsStandin::encode((array) ($request['get'] ?? []));
$_REQUEST = array_merge($_GET, $_POST);
// WHMCS runs with its configured timezone as PHP's default (input "timezone"; default UTC).
date_default_timezone_set((string) ($input['timezone'] ?? 'UTC'));
WhmcsStandin::$debug = !empty($input['module_debug']);
WhmcsStandin::$localApiResponses = (array) ($input['localapi_responses'] ?? []);
WhmcsStandin::$localApiDb = array_values(array_filter((array) ($input['localapi_db'] ?? []), 'is_string'));
$moduleDir = (string) ($input['module_dir'] ?? '') !== '' ? (string) $input['module_dir']
    : dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge';

register_shutdown_function(function (): void {
    if (WhmcsStandin::$printed) {
        return;
    }
    $output = '';
    while (ob_get_level() > 0) {
        $output = ob_get_clean() . $output;
    }
    $last = error_get_last();
    WhmcsStandin::$result['output'] = $output;
    WhmcsStandin::$result['exception'] = ['class' => 'StandinFatal',
        'message' => $last !== null ? $last['message'] : 'the module stopped the request (exit/die): ' . $output,
        'file' => $last['file'] ?? null, 'line' => $last['line'] ?? null];
    WhmcsStandin::emit(3);
});

ob_start();
try {
    if (isset($input['addon'])) {
        // addonmodules.php?module=<addon> (docs: Addon Modules): WHMCS's addon access control first (Setup > Addon
        // Modules > Configure > Access Control, kept in tbladdonmodules as the allowed admin role ids; the admin's
        // role is tbladmins.roleid), then <addon>_output($vars) with 'modulelink'; what it prints is the page.
        // Server modules are loaded in the same request (WHMCS loads them for hooks and menus): their functions
        // and the addon's must not clash, case-insensitively.
        $allowedRoles = array_map('intval', (array) ($input['addon_access'] ?? []));
        if (empty($_SESSION['adminid']) || !in_array((int) ($input['admin_role'] ?? 0), $allowedRoles, true)) {
            WhmcsStandin::$result['return'] = null;
            WhmcsStandin::$result['page'] = '<div id="standin-access-denied">Access Denied: you do not have'
                . ' permission to access this addon module</div>';
        } else {
            standin_module_autoloader($moduleDir);
            require_once $moduleDir . '/s3bridge.php';
            require_once dirname($moduleDir, 2) . "/addons/$name/$name.php";
            $vars = ['modulelink' => "addonmodules.php?module=$name", 'version' => '1.0', '_lang' => []];
            ob_start();
            WhmcsStandin::$result['return'] = call_user_func($name . '_output', $vars);
            WhmcsStandin::$result['page'] = (string) ob_get_clean();
        }
    } elseif (isset($input['api'])) {
        // The admin's button for an API action (orders.php's Accept Order): the action, with WHMCS's localAPI input
        // handling (decoded, then encoded), against the database; module functions from the installed module.
        standin_module_autoloader($moduleDir);
        require_once $moduleDir . '/s3bridge.php';
        $values = WhmcsStandin::encode(WhmcsStandin::decode((array) ($input['values'] ?? [])));
        WhmcsStandin::$result['return'] = standin_api_action(standin_pdo(), $name, $values);
    } elseif ($isHook) {
        require_once $moduleDir . '/hooks.php';
        $callbacks = WhmcsStandin::$hooks[$name] ?? [];
        usort($callbacks, function (array $a, array $b): int {
            return $a[0] <=> $b[0];
        });
        WhmcsStandin::$result['return'] = [];
        foreach ($callbacks as $callback) {
            // AfterCronJob is called with [] (DESIGN "Hooks").
            WhmcsStandin::$result['return'][] = call_user_func($callback[1], []);
        }
    } else {
        standin_module_autoloader($moduleDir);
        require_once $moduleDir . '/s3bridge.php';
        $function = 's3bridge_' . $name;
        $params = standin_params($name, (array) ($input['params'] ?? []));
        if ($context === 'client_button') {
            // A client may call only what ClientAreaCustomButtonArray or ClientAreaAllowedFunctions list (docs).
            $allowed = [];
            foreach (['ClientAreaCustomButtonArray', 'ClientAreaAllowedFunctions'] as $list) {
                if (function_exists('s3bridge_' . $list)) {
                    $allowed = array_merge($allowed, array_values(call_user_func('s3bridge_' . $list, $params)));
                }
            }
            if (!in_array($name, $allowed, true)) {
                throw new RuntimeException('WHMCS: Function Not Allowed');
            }
            // Custom functions run only for Active services (DESIGN "More, from WHMCS 8.7's own code paths").
            if ((string) (($input['service'] ?? [])['status'] ?? 'Active') !== 'Active') {
                throw new RuntimeException('WHMCS: the service is not active; custom functions are not run');
            }
        }
        // ac=<name> in the admin area calls any s3bridge_<name> without checking AdminCustomButtonArray (DESIGN).
        if (!function_exists($function)) {
            throw new RuntimeException('WHMCS: Function Not Found');
        }
        if ($name === 'MetricProvider') {
            // WHMCS calls it from its cron with the server's params, then uses the provider (UsageBilling.php).
            WhmcsStandin::$result['return'] = standin_tenant_usage_metrics('s3bridge', $params,
                isset($input['tenant']) ? (string) $input['tenant'] : null);
        } elseif ($name === 'ClientArea' && isset($_SESSION['permissions'])
            && !in_array('manageproducts', (array) $_SESSION['permissions'], true)) {
            // Module output on the overview shows only to a user with the `manageproducts` permission on the account
            // (WHMCS 8's users; the owner has every permission): the module is not asked (DESIGN, as above).
            WhmcsStandin::$result['return'] = null;
            WhmcsStandin::$result['page'] = standin_render(['tabOverviewModuleOutputTemplate' => null], $params,
                $moduleDir, (array) ($input['service'] ?? []));
        } else {
            WhmcsStandin::$result['return'] = $function($params);
        }
        if ($context === 'client_button' && $name !== 'ClientArea') {
            // WHMCS still builds the service page after a custom function: it calls ClientArea, and discards the
            // answer when the function answered with a page of its own (DESIGN "More, from WHMCS 8.7's own code
            // paths"); recorded so tests can see what it cost.
            WhmcsStandin::$result['client_area_after'] = s3bridge_ClientArea($params);
        }
        $renders = $name === 'ClientArea' || ($context === 'client_button'
            && isset(WhmcsStandin::$result['return']['templatefile']));
        if ($renders && !empty($input['render']) && is_array(WhmcsStandin::$result['return'])) {
            WhmcsStandin::$result['page'] = standin_render(WhmcsStandin::$result['return'], $params, $moduleDir,
                (array) ($input['service'] ?? []));
        }
    }
} catch (\Throwable $e) {
    WhmcsStandin::$result['exception'] = ['class' => get_class($e), 'message' => $e->getMessage(),
        'file' => $e->getFile(), 'line' => $e->getLine()];
}
WhmcsStandin::$result['output'] = (string) ob_get_clean();
// Objects in the return (e.g. template variables) are shown as the string they print.
array_walk_recursive(WhmcsStandin::$result, function (&$value): void {
    if (is_object($value)) {
        $value = method_exists($value, '__toString') ? ['__object' => get_class($value), 'text' => (string) $value]
            : ['__object' => get_class($value)];
    }
});
WhmcsStandin::emit(0);
