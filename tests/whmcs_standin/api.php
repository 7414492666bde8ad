<?php

/**
 * STAND-IN FOR WHMCS's includes/api.php, FOR TESTS ONLY. Not WHMCS and not part of the product.
 *
 * Served by PHP's built-in server (`php -S 127.0.0.1:PORT -t tests/whmcs_standin`) over the same stand-in database
 * as the other tests, it answers the few API actions the s3bridge daemon's bearer-token panel uses, the way
 * WHMCS's API reference documents them (form POST, `identifier` + `secret` of an API credential, `responsetype=json`,
 * HTTP 200 with {"result": "error", "message": ...} when refused):
 *   DecryptPassword (password2)                           -> {"result":"success","password":...}
 *   AddOrder (clientid, pid[], domain[], paymentmethod)    -> {"result":"success","orderid","serviceids","invoiceid"}
 *   AddCancelRequest (serviceid, type, reason)            -> {"result":"success","serviceid","userid"}
 *   ModuleTerminate (serviceid)                           -> runs the module's TerminateAccount like WHMCS, then
 *                                                            marks the service Terminated
 * Every call is recorded in the table standin_api_calls (action, the fields without identifier/secret).
 * Env: STANDIN_DB_DSN / _USER / _PASSWORD (the database), STANDIN_API_IDENTIFIER / STANDIN_API_SECRET (the one
 * valid credential), S3BRIDGE_URL / S3BRIDGE_SECRET (for ModuleTerminate's module call).
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
// WHMCS: "Authentication Failed" for a wrong identifier or secret, checked before anything else.
if (!hash_equals((string) getenv('STANDIN_API_IDENTIFIER'), (string) ($post['identifier'] ?? ''))
    || !hash_equals((string) getenv('STANDIN_API_SECRET'), (string) ($post['secret'] ?? ''))) {
    standin_error('Authentication Failed');
}
$pdo = new PDO((string) getenv('STANDIN_DB_DSN'), (string) getenv('STANDIN_DB_USER'),
    (string) getenv('STANDIN_DB_PASSWORD'), [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC]);
$pdo->exec('CREATE TABLE IF NOT EXISTS standin_api_calls (id INT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(64)'
    . ' NOT NULL, fields TEXT NOT NULL)');
$action = (string) ($post['action'] ?? '');
$fields = $post;
unset($fields['identifier'], $fields['secret'], $fields['accesskey']);
$pdo->prepare('INSERT INTO standin_api_calls (action, fields) VALUES (?, ?)')
    ->execute([$action, json_encode($fields, JSON_UNESCAPED_SLASHES)]);

function standin_decrypt(string $value): string
{
    return str_starts_with($value, 'standin-enc:') ? (string) base64_decode(substr($value, 12), true) : '';
}

function standin_service(PDO $pdo, int $id): ?array
{
    $q = $pdo->prepare('SELECT * FROM tblhosting WHERE id = ?');
    $q->execute([$id]);
    $row = $q->fetch();
    return $row === false ? null : $row;
}

switch ($action) {
    case 'DecryptPassword':
        standin_answer(['result' => 'success', 'password' => standin_decrypt((string) ($post['password2'] ?? ''))]);
        // no break
    case 'AddOrder':
        $clientId = (int) ($post['clientid'] ?? 0);
        $q = $pdo->prepare('SELECT id FROM tblclients WHERE id = ?');
        $q->execute([$clientId]);
        if ($q->fetch() === false) {
            standin_error('Client ID Not Found');
        }
        if (trim((string) ($post['paymentmethod'] ?? '')) === '') {
            standin_error('Invalid Payment Method. Valid options include ' . 'banktransfer,paypal');
        }
        $pids = (array) ($post['pid'] ?? []);
        $domains = (array) ($post['domain'] ?? []);
        $pdo->prepare("INSERT INTO tblorders (ordernum, userid, date, amount, paymentmethod, invoiceid, status, notes)"
            . " VALUES (?, ?, NOW(), 0, ?, 0, 'Pending', '')")
            ->execute([random_int(1000000000, 9999999999), $clientId, (string) $post['paymentmethod']]);
        $orderId = (int) $pdo->lastInsertId();
        $invoiceId = $orderId + 5000;
        $pdo->prepare('UPDATE tblorders SET invoiceid = ? WHERE id = ?')->execute([$invoiceId, $orderId]);
        $serviceIds = [];
        foreach ($pids as $i => $pid) {
            $p = $pdo->prepare('SELECT id, servergroup FROM tblproducts WHERE id = ?');
            $p->execute([(int) $pid]);
            $product = $p->fetch();
            if ($product === false) {
                standin_error('Product ID Not Found');
            }
            // WHMCS picks a server of the product's server group when it creates the service
            $g = $pdo->prepare('SELECT serverid FROM tblservergroupsrel WHERE groupid = ? ORDER BY serverid LIMIT 1');
            $g->execute([(int) $product['servergroup']]);
            $serverId = (int) ($g->fetchColumn() ?: $pdo->query("SELECT id FROM tblservers WHERE type = 's3bridge'"
                . ' ORDER BY id LIMIT 1')->fetchColumn());
            $pdo->prepare("INSERT INTO tblhosting (userid, orderid, packageid, server, regdate, domain, paymentmethod,"
                . " firstpaymentamount, amount, billingcycle, nextduedate, nextinvoicedate, domainstatus, username,"
                . " password, notes, subscriptionid, suspendreason, dedicatedip, assignedips, ns1, ns2, qty,"
                . " termination_date, completed_date, promoid, overideautosuspend, overidesuspenduntil, diskusage,"
                . " disklimit, bwusage, bwlimit, lastupdate, promocount)"
                . " VALUES (?, ?, ?, ?, CURDATE(), ?, ?, 0, 0, 'Monthly', CURDATE(), CURDATE(), 'Pending', '', '', '',"
                . " '', '', '', '', '', '', 1, '0000-00-00', '0000-00-00', 0, 0, '0000-00-00', 0, 0, 0, 0,"
                . " '0000-00-00 00:00:00', 0)")
                ->execute([$clientId, $orderId, (int) $pid, $serverId, (string) ($domains[$i] ?? ''),
                    (string) $post['paymentmethod']]);
            $serviceIds[] = (int) $pdo->lastInsertId();
        }
        standin_answer(['result' => 'success', 'orderid' => $orderId, 'serviceids' => implode(',', $serviceIds),
            'addonids' => '', 'domainids' => '', 'invoiceid' => $invoiceId]);
        // no break
    case 'AddCancelRequest':
        $service = standin_service($pdo, (int) ($post['serviceid'] ?? 0));
        if ($service === null) {
            standin_error('Service ID Not Found');
        }
        $q = $pdo->prepare('SELECT id FROM tblcancelrequests WHERE relid = ?');
        $q->execute([(int) $service['id']]);
        if ($q->fetch() !== false) {
            standin_error('Existing Cancellation Request Exists');
        }
        $type = (string) ($post['type'] ?? 'End of Billing Period');
        if (!in_array($type, ['Immediate', 'End of Billing Period'], true)) {
            standin_error('Invalid Cancellation Type');
        }
        $pdo->prepare('INSERT INTO tblcancelrequests (date, relid, reason, type) VALUES (NOW(), ?, ?, ?)')
            ->execute([(int) $service['id'], (string) ($post['reason'] ?? ''), $type]);
        standin_answer(['result' => 'success', 'serviceid' => (int) $service['id'],
            'userid' => (int) $service['userid']]);
        // no break
    case 'ModuleTerminate':
        $service = standin_service($pdo, (int) ($post['serviceid'] ?? 0));
        if ($service === null) {
            standin_error('Service ID Not Found');
        }
        $q = $pdo->prepare('SELECT * FROM tblproducts WHERE id = ?');
        $q->execute([(int) $service['packageid']]);
        $product = $q->fetch();
        $q = $pdo->prepare('SELECT * FROM tblservers WHERE id = ?');
        $q->execute([(int) $service['server']]);
        $server = $q->fetch();
        if ($product === false || $server === false) {
            standin_error('Service has no product or server');
        }
        define('WHMCS', true);
        function logModuleCall(...$args): void
        {
        }
        function localAPI($command, $values, $admin = '')
        {
            return ['result' => 'success'];
        }
        function decrypt(string $value): string
        {
            return standin_decrypt($value);
        }
        require_once dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge/s3bridge.php';
        $params = [
            'serviceid' => (int) $service['id'], 'userid' => (int) $service['userid'],
            'pid' => (int) $service['packageid'], 'serverid' => (int) $server['id'],
            'username' => (string) $service['username'], 'password' => standin_decrypt((string) $service['password']),
            'domain' => (string) $service['domain'],
            'serverhostname' => html_entity_decode((string) $server['hostname'], ENT_QUOTES),
            'serverip' => html_entity_decode((string) $server['ipaddress'], ENT_QUOTES),
            'serverusername' => html_entity_decode((string) $server['username'], ENT_QUOTES),
            'serverpassword' => standin_decrypt((string) $server['password']),
            'serveraccesshash' => html_entity_decode((string) $server['accesshash'], ENT_QUOTES),
            'serversecure' => in_array((string) $server['secure'], ['on', '1'], true),
            'serverport' => (int) $server['port'],
        ];
        for ($n = 1; $n <= 24; $n++) {
            $params['configoption' . $n] = (string) $product['configoption' . $n];
        }
        $result = s3bridge_TerminateAccount($params);
        if ($result !== 'success') {
            standin_error((string) $result);
        }
        $pdo->prepare("UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = ?")->execute([(int) $service['id']]);
        standin_answer(['result' => 'success']);
        // no break
    default:
        standin_error('Command Not Found');
}
