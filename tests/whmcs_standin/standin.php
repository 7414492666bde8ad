<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY. This is not WHMCS and not part of the product.
 *
 * WHMCS is proprietary and cannot run here, so the Python tests load the real s3bridge module in this small
 * stand-in, which provides what the module uses from WHMCS: the WHMCS constant, logModuleCall() (recording, plus
 * the masked strings WHMCS would store in tblmodulelog) and localAPI() (recording, with canned answers), and a
 * `model` object in $params like WHMCS passes.
 *
 * Usage: php tests/whmcs_standin/standin.php < request.json
 *
 * stdin, one JSON object:
 *   {"function": "TestConnection",               // required: calls s3bridge_<function>($params)
 *    "params": {...},                            // optional, default {}: WHMCS $params (a `model` object is added)
 *    "module_dir": "/path/to/module",            // optional, default <repo>/hooks_php_shim/modules/servers/s3bridge
 *    "localapi_responses": {"Command": {...}}}   // optional: localAPI answer per command, default {"result":"success"}
 *
 * stdout, ONE JSON object:
 *   {"return": <what s3bridge_<function> returned, null if it threw>,
 *    "module_log": [{"module", "action", "request", "response", "processed", "replace_vars",
 *                    "masked": {"request", "response", "processed"}}, ...],
 *    "local_api": [{"command", "values", "admin_user"}, ...],
 *    "output": "<anything the module echoed>",
 *    "exception": null | {"class", "message", "error_code", "http_status", "request_id", "file", "line"},
 *    "php_errors": [{"type", "message", "file", "line"}, ...]}   // warnings/notices raised while running
 * "masked" holds request/response/processed stringified like WHMCS (arrays through print_r) with every
 * replace_vars value replaced by '********'. Exit status 0 whenever the JSON object was printed for a call
 * (even if the module threw), 2 when stdin was unusable, 3 when PHP died (fatal error or exit) inside the module.
 * The environment passes through unchanged (S3BRIDGE_URL, S3BRIDGE_SECRET, ...).
 *
 * "session": {"uid": 7} or {"adminid": 1} sets $_SESSION (the logged-in client or admin), default none.
 *
 * Hooks: {"hook": "AfterCronJob", "vars": {...}} instead of "function" loads the module's hooks.php, runs every
 * callback registered for that hook, and reports {"return": [callback results], ...} the same way.
 * For hooks the stand-in also provides WHMCS\Database\Capsule (table()->where()->get() over PDO, connected with
 * env STANDIN_DB_DSN / STANDIN_DB_USER / STANDIN_DB_PASSWORD) and decrypt() for tblservers.password, which the
 * tests store as 'standin-enc:' . base64(password) (real WHMCS uses its own encryption).
 */

declare(strict_types=1);

ini_set('display_errors', 'stderr');
error_reporting(E_ALL);

define('WHMCS', true);

/** Everything recorded during the run. */
final class WhmcsStandin
{
    public static array $moduleLog = [];
    public static array $localApi = [];
    public static array $localApiResponses = [];
    public static array $phpErrors = [];
    public static bool $printed = false;
    public static array $hooks = [];

    /** Stringify like WHMCS's logModuleCall before storing in tblmodulelog. */
    public static function stringify(mixed $value): string
    {
        if (is_array($value) || is_object($value)) {
            return print_r($value, true);
        }
        if (is_bool($value)) {
            return $value ? '1' : '';
        }
        return (string) $value;
    }

    public static function mask(string $text, array $replaceVars): string
    {
        foreach ($replaceVars as $var) {
            if (is_scalar($var) && (string) $var !== '') {
                $text = str_replace((string) $var, '********', $text);
            }
        }
        return $text;
    }

    public static function emit(array $result, int $exitCode): never
    {
        self::$printed = true;
        $result['php_errors'] = self::$phpErrors;
        echo json_encode(
            $result,
            JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR,
        ), "\n";
        exit($exitCode);
    }
}

/** Stand-in for WHMCS's model objects (WHMCS passes an Eloquent model as $params['model']). */
final class WhmcsStandinServiceModel
{
    public function __construct(public int|string $id = 0, public string $password = 'model-object-must-not-be-sent')
    {
    }
}

function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = [])
{
    $replaceVars = is_array($replaceVars) ? $replaceVars : [];
    WhmcsStandin::$moduleLog[] = [
        'module' => $module,
        'action' => $action,
        'request' => $requestString,
        'response' => $responseData,
        'processed' => $processedData,
        'replace_vars' => array_values($replaceVars),
        'masked' => [
            'request' => WhmcsStandin::mask(WhmcsStandin::stringify($requestString), $replaceVars),
            'response' => WhmcsStandin::mask(WhmcsStandin::stringify($responseData), $replaceVars),
            'processed' => WhmcsStandin::mask(WhmcsStandin::stringify($processedData), $replaceVars),
        ],
    ];
}

/** Stand-in for WHMCS's decrypt() of its encrypted columns (see header). */
function decrypt(string $value): string
{
    return str_starts_with($value, 'standin-enc:') ? (string) base64_decode(substr($value, 12), true) : '';
}

/** Stand-in for WHMCS's add_hook(): records callbacks by hook name. */
function add_hook(string $hookName, int $priority, callable $callback): void
{
    WhmcsStandin::$hooks[$hookName][] = [$priority, $callback];
}

function localAPI($command, $values, $adminUser = '')
{
    WhmcsStandin::$localApi[] = ['command' => $command, 'values' => $values, 'admin_user' => $adminUser];
    $answer = WhmcsStandin::$localApiResponses[$command] ?? ['result' => 'success'];
    return is_array($answer) ? $answer : ['result' => 'error', 'message' => 'stand-in: bad canned answer'];
}

set_error_handler(static function (int $type, string $message, string $file, int $line): bool {
    WhmcsStandin::$phpErrors[] = ['type' => $type, 'message' => $message, 'file' => $file, 'line' => $line];
    return true;
});

$input = json_decode((string) stream_get_contents(STDIN), true);
$isHook = is_array($input) && is_string($input['hook'] ?? null) && preg_match('/^[A-Za-z]+$/', $input['hook']);
if (!is_array($input) || (!$isHook && (!is_string($input['function'] ?? null)
    || !preg_match('/^[A-Za-z][A-Za-z0-9_]*$/', $input['function'])))) {
    WhmcsStandin::emit([
        'return' => null, 'module_log' => [], 'local_api' => [], 'output' => '',
        'exception' => ['class' => 'StandinError', 'message' => 'stdin must be a JSON object with a "function" name'],
    ], 2);
}
$_SESSION = is_array($input['session'] ?? null) ? $input['session'] : [];  // who is logged in (uid / adminid)
$params = $input['params'] ?? [];
$params = is_array($params) ? $params : [];
$params['model'] = new WhmcsStandinServiceModel($params['serviceid'] ?? 0);
WhmcsStandin::$localApiResponses = is_array($input['localapi_responses'] ?? null) ? $input['localapi_responses'] : [];
$moduleDir = is_string($input['module_dir'] ?? null) && $input['module_dir'] !== ''
    ? $input['module_dir']
    : dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge';

// If the module exits or dies with a fatal error, still print one JSON object.
register_shutdown_function(static function (): void {
    if (WhmcsStandin::$printed) {
        return;
    }
    $output = '';
    while (ob_get_level() > 0) {
        $output = ob_get_clean() . $output;
    }
    $last = error_get_last();
    WhmcsStandin::emit([
        'return' => null,
        'module_log' => WhmcsStandin::$moduleLog,
        'local_api' => WhmcsStandin::$localApi,
        'output' => $output,
        'exception' => [
            'class' => 'StandinFatal',
            'message' => $last !== null ? $last['message'] : 'the module called exit/die',
            'file' => $last['file'] ?? null,
            'line' => $last['line'] ?? null,
        ],
    ], 3);
});

$return = null;
$exception = null;
ob_start();
try {
    if ($isHook) {
        require_once __DIR__ . '/Capsule.php';
        require_once $moduleDir . '/hooks.php';
        $callbacks = WhmcsStandin::$hooks[$input['hook']] ?? [];
        usort($callbacks, static fn (array $a, array $b): int => $a[0] <=> $b[0]);
        $return = [];
        foreach ($callbacks as [, $callback]) {
            $return[] = $callback(is_array($input['vars'] ?? null) ? $input['vars'] : []);
        }
    } else {
        require_once $moduleDir . '/s3bridge.php';
        $return = ('s3bridge_' . $input['function'])($params);
    }
} catch (\Throwable $e) {
    $exception = [
        'class' => get_class($e),
        'message' => $e->getMessage(),
        'error_code' => property_exists($e, 'errorCode') ? $e->errorCode : null,
        'http_status' => property_exists($e, 'httpStatus') ? $e->httpStatus : null,
        'request_id' => property_exists($e, 'requestId') ? $e->requestId : null,
        'file' => $e->getFile(),
        'line' => $e->getLine(),
    ];
}
$output = (string) ob_get_clean();

WhmcsStandin::emit([
    'return' => $return,
    'module_log' => WhmcsStandin::$moduleLog,
    'local_api' => WhmcsStandin::$localApi,
    'output' => $output,
    'exception' => $exception,
], 0);
