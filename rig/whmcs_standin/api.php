<?php

/**
 * STAND-IN FOR WHMCS's includes/api.php, FOR TESTS ONLY. Not WHMCS and not part of the product.
 *
 * Served by PHP's built-in server (`php -S 127.0.0.1:PORT -t rig/whmcs_standin`) over the same stand-in database
 * as the other tests, it answers the few API actions the s3bridge daemon's bearer-token panel uses, the way
 * WHMCS's API reference documents them (form POST, `identifier` + `secret` of an API credential, `responsetype=json`,
 * HTTP 200 with {"result": "error", "message": ...} when refused):
 *   DecryptPassword (password2)                           -> {"result":"success","password":...}
 *   AddOrder (clientid, pid[], domain[], billingcycle[],   -> {"result":"success","orderid","serviceids","invoiceid"}
 *     paymentmethod, noinvoice)                              Pending services priced in the client's currency and
 *                                                            the first invoice (tblinvoices/tblinvoiceitems; none
 *                                                            for a zero total): whmcs_actions.php standin_add_order
 *   AddCancelRequest (serviceid, type, reason)            -> {"result":"success","serviceid","userid"}
 *   ModuleTerminate (serviceid)                           -> runs the module's TerminateAccount like WHMCS, then
 *                                                            marks the service Terminated
 *   AcceptOrder (orderid, autosetup)                      -> the Pending order and its services Active; with
 *                                                            autosetup, the module's CreateAccount for each first
 *                                                            (its localAPI calls, e.g. UpdateClientProduct, applied)
 * Every call is recorded in the table standin_api_calls (action, the fields without identifier/secret).
 * Refused as WHMCS refuses (developers.whmcs.com "Access Control"; messages as WHMCS answers them):
 *   - a caller whose address is not in API IP Access Restriction (tblconfiguration `APIAllowedIPs`, a serialized
 *     array of ['ip' => ..., 'note' => ...]) and who sends no `accesskey` equal to configuration.php's
 *     $api_access_key (here env STANDIN_API_ACCESS_KEY; none set: no key opens the door): "Invalid IP <address>";
 *   - an action the credential's API role does not allow (env STANDIN_API_ROLE_ACTIONS, comma-separated; default
 *     the four actions above): 'Invalid Permissions: API action "<action>" is not allowed'.
 * Env: STANDIN_DB_DSN / _USER / _PASSWORD (the database), STANDIN_API_IDENTIFIER / STANDIN_API_SECRET (the one
 * valid credential), S3BRIDGE_URL / S3BRIDGE_SECRET (for the module calls of ModuleTerminate and AcceptOrder).
 * Stored passwords use the stand-in's scheme 'standin-enc:' . base64(plain) (real WHMCS has its own encryption).
 */

declare(strict_types=1);

header('Content-Type: application/json');

function standin_answer(array $data): void
{
    echo json_encode($data, JSON_UNESCAPED_SLASHES);
    exit(0);
}

function standin_error(string $message): void
{
    standin_answer(['result' => 'error', 'message' => $message]);
}

$post = $_POST;
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    standin_error('Invalid request method');  // WHMCS's API takes POST only
}
$pdo = new PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
    (string) getenv('STANDIN_DB_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC]);
// WHMCS: the caller's address must be allowed, or the request must carry the access key (checked first).
$caller = (string) ($_SERVER['REMOTE_ADDR'] ?? '');
$q = $pdo->prepare("SELECT value FROM tblconfiguration WHERE setting = 'APIAllowedIPs'");
$q->execute();
$allowed = @unserialize((string) $q->fetchColumn(), ['allowed_classes' => false]);
$allowedIps = array_map(function ($entry): string {
    return is_array($entry) ? (string) ($entry['ip'] ?? '') : '';
}, is_array($allowed) ? $allowed : []);
$accessKey = (string) getenv('STANDIN_API_ACCESS_KEY');
$keyGiven = (string) ($post['accesskey'] ?? '');
if (!in_array($caller, $allowedIps, true) && !($accessKey !== '' && hash_equals($accessKey, $keyGiven))) {
    standin_error('Invalid IP ' . $caller);
}
// WHMCS: "Authentication Failed" for a wrong identifier or secret.
if (!hash_equals((string) getenv('STANDIN_API_IDENTIFIER'), (string) ($post['identifier'] ?? ''))
    || !hash_equals((string) getenv('STANDIN_API_SECRET'), (string) ($post['secret'] ?? ''))) {
    standin_error('Authentication Failed');
}
// WHMCS: the credential's API role lists the actions it may call.
$roleActions = array_filter(array_map('trim', explode(',', (string) (getenv('STANDIN_API_ROLE_ACTIONS')
    ?: 'DecryptPassword,AddOrder,AddCancelRequest,ModuleTerminate'))));
$asked = (string) ($post['action'] ?? '');
if (!in_array(strtolower($asked), array_map('strtolower', $roleActions), true)) {
    standin_error('Invalid Permissions: API action "' . strtolower($asked) . '" is not allowed');
}
$pdo->exec('CREATE TABLE IF NOT EXISTS standin_api_calls (id INT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(64)'
    . ' NOT NULL, fields TEXT NOT NULL)');
$action = (string) ($post['action'] ?? '');
$fields = $post;
unset($fields['identifier'], $fields['secret'], $fields['accesskey']);
$pdo->prepare('INSERT INTO standin_api_calls (action, fields) VALUES (?, ?)')
    ->execute([$action, json_encode($fields, JSON_UNESCAPED_SLASHES)]);

require_once __DIR__ . '/whmcs_actions.php';

/** WHMCS's functions for the module (ModuleTerminate runs it); the client area stand-in defines its own. */
function standin_whmcs_functions(): void
{
    if (!defined('WHMCS')) {
        define('WHMCS', true);
    }
}

function logModuleCall(...$args): void
{
}

/** localAPI from a module call made by an API action (AcceptOrder's CreateAccount, ModuleTerminate): the actions of
 * whmcs_actions.php against the database, input decoded then encoded as WHMCS does (as the client area's). */
function localAPI($command, $values, $admin = '')
{
    global $pdo;
    $clean = function ($value) use (&$clean) {
        return is_array($value) ? array_map($clean, $value) : (is_string($value)
            ? htmlspecialchars(html_entity_decode($value, ENT_QUOTES, 'UTF-8'), ENT_QUOTES, 'UTF-8') : $value);
    };
    return standin_api_action($pdo, (string) $command, $clean(is_array($values) ? $values : []));
}

function decrypt(string $value): string
{
    return standin_decrypt($value);
}

standin_answer(standin_api_action($pdo, $action, $post));
