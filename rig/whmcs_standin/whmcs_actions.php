<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: the API actions the s3bridge panel uses, shared by the stand-in api.php (the
 * daemon's bearer-token way) and the stand-in client area's localAPI() (the shim's effects). Answers as WHMCS's API
 * reference documents them.
 */

declare(strict_types=1);

function standin_fail(string $message): array
{
    return ['result' => 'error', 'message' => $message];
}

function standin_decrypt(string $value): string
{
    // strpos, not str_starts_with: the stand-in runs on PHP 7.4 like the WHMCS versions it stands for.
    return strpos($value, 'standin-enc:') === 0 ? (string) base64_decode(substr($value, 12), true) : '';
}

/** The module, for an action that runs one of its functions: the repository's copy, unless the request already
 * loaded an installed copy (standin.php's "api" requests: the module of the PHP version under test). */
function standin_load_module(): void
{
    if (!function_exists('s3bridge_CreateAccount')) {
        standin_whmcs_functions();
        require_once dirname(__DIR__, 2) . '/hooks_php_shim/modules/servers/s3bridge/s3bridge.php';
    }
}

function standin_service(PDO $pdo, int $id): ?array
{
    $q = $pdo->prepare('SELECT * FROM tblhosting WHERE id = ?');
    $q->execute([$id]);
    $row = $q->fetch();
    return $row === false ? null : $row;
}

/** The $params WHMCS builds for a module call on a service, from its rows (passwords decrypted); null if none. */
function standin_service_params(PDO $pdo, int $serviceId): ?array
{
    $service = standin_service($pdo, $serviceId);
    if ($service === null) {
        return null;
    }
    $q = $pdo->prepare('SELECT * FROM tblproducts WHERE id = ?');
    $q->execute([(int) $service['packageid']]);
    $product = $q->fetch();
    $q = $pdo->prepare('SELECT * FROM tblservers WHERE id = ?');
    $q->execute([(int) $service['server']]);
    $server = $q->fetch();
    $q = $pdo->prepare('SELECT * FROM tblclients WHERE id = ?');
    $q->execute([(int) $service['userid']]);
    $client = $q->fetch();
    if ($product === false || $server === false || $client === false) {
        return null;
    }
    $decode = function (string $v): string {
        return html_entity_decode($v, ENT_QUOTES);  // tblservers values are stored HTML-encoded
    };
    $params = [
        'serviceid' => (int) $service['id'], 'userid' => (int) $service['userid'],
        'pid' => (int) $service['packageid'], 'serverid' => (int) $server['id'],
        'username' => (string) $service['username'], 'password' => standin_decrypt((string) $service['password']),
        'domain' => (string) $service['domain'],
        'serverhostname' => $decode((string) $server['hostname']),
        'serverip' => $decode((string) $server['ipaddress']),
        'serverusername' => $decode((string) $server['username']),
        'serverpassword' => standin_decrypt((string) $server['password']),
        'serveraccesshash' => $decode((string) $server['accesshash']),
        'serversecure' => in_array((string) $server['secure'], ['on', '1'], true),
        'serverport' => (int) $server['port'],
        'clientsdetails' => ['id' => (int) $client['id'], 'firstname' => (string) $client['firstname'],
            'lastname' => (string) $client['lastname'], 'email' => (string) $client['email'],
            'language' => (string) $client['language']],
    ];
    for ($n = 1; $n <= 24; $n++) {
        $params['configoption' . $n] = (string) $product['configoption' . $n];
    }
    return $params;
}

/** WHMCS's billing cycles as tblhosting spells them => [tblpricing price column, setup fee column, months]. */
const STANDIN_CYCLES = [
    'Monthly' => ['monthly', 'msetupfee', 1], 'Quarterly' => ['quarterly', 'qsetupfee', 3],
    'Semi-Annually' => ['semiannually', 'ssetupfee', 6], 'Annually' => ['annually', 'asetupfee', 12],
    'Biennially' => ['biennially', 'bsetupfee', 24], 'Triennially' => ['triennially', 'tsetupfee', 36],
];

/**
 * What one ordered product costs this client: [billing cycle, first payment, recurring amount]. MODELLED FROM
 * DOCUMENTATION (developers.whmcs.com "AddOrder": `billingcycle[]` optional; docs.whmcs.com "Products and Services",
 * pricing tab): a product's price is per currency (tblpricing row of type 'product' for the client's currency, -1 =
 * cycle not offered); a free product is the "Free Account" cycle at 0; a one-time product is "One Time" priced in the
 * monthly column; a recurring product without a cycle asked for takes its first offered cycle. The first payment is
 * the setup fee plus the cycle's price.
 */
function standin_order_price(PDO $pdo, array $product, int $currency, string $askedCycle): array
{
    $paytype = strtolower((string) $product['paytype']);
    if ($paytype !== 'recurring' && $paytype !== 'onetime') {
        return ['Free Account', 0.0, 0.0];  // 'free' (and the empty paytype of a product never saved with pricing)
    }
    $q = $pdo->prepare("SELECT * FROM tblpricing WHERE type = 'product' AND relid = ? AND currency = ?");
    $q->execute([(int) $product['id'], $currency]);
    $price = $q->fetch();
    if ($price === false) {
        return [$paytype === 'onetime' ? 'One Time' : 'Monthly', 0.0, 0.0];
    }
    if ($paytype === 'onetime') {
        $amount = (float) $price['monthly'];
        return ['One Time', (float) $price['msetupfee'] + $amount, $amount];
    }
    foreach (STANDIN_CYCLES as $cycle => $columns) {
        if (($askedCycle === '' || strcasecmp($askedCycle, $cycle) === 0) && (float) $price[$columns[0]] >= 0) {
            $amount = (float) $price[$columns[0]];
            return [$cycle, max(0.0, (float) $price[$columns[1]]) + $amount, $amount];
        }
    }
    return [$askedCycle !== '' ? $askedCycle : 'Monthly', 0.0, 0.0];
}

/**
 * The first invoice's line for a service: "<product name> (<from> - <to>)", dates in the install's Date Format
 * (default DD/MM/YYYY), <to> one billing cycle on less a day. MODELLED FROM DOCUMENTATION and published WHMCS
 * invoices (a product line reads e.g. "Mikrotik VPN 10M/10M/10GB (01/03/2026 - 31/03/2026)"; a domain, when the
 * service has one, follows the name after " - "); WHMCS's own template code was not available.
 */
function standin_invoice_line(string $productName, string $domain, string $cycle, DateTimeImmutable $from): string
{
    $months = array_key_exists($cycle, STANDIN_CYCLES) ? STANDIN_CYCLES[$cycle][2] : 0;
    $name = $productName . ($domain !== '' ? ' - ' . $domain : '');
    if ($months === 0) {  // Free Account, One Time: no period
        return $name;
    }
    $to = $from->modify('+' . $months . ' month')->modify('-1 day');
    return $name . ' (' . $from->format('d/m/Y') . ' - ' . $to->format('d/m/Y') . ')';
}

/**
 * WHMCS's AddOrder. MODELLED FROM DOCUMENTATION (developers.whmcs.com "AddOrder"): it ignores the product's "setup on
 * order" (the order and its services stay Pending until AcceptOrder), creates one tblhosting row per `pid[]` (status
 * Pending, next due date = the order date, the price of the chosen cycle in the client's currency), and an Unpaid
 * invoice for the order's total unless `noinvoice` is set or the total is zero (a free product gets no invoice: the
 * order's invoiceid stays 0). The invoice has one line per service: type 'Hosting', relid = the service id, the
 * first payment as amount. Answers result, orderid, serviceids, addonids, domainids, invoiceid.
 */
function standin_add_order(PDO $pdo, array $post): array
{
    $clientId = (int) ($post['clientid'] ?? 0);
    $q = $pdo->prepare('SELECT id, currency FROM tblclients WHERE id = ?');
    $q->execute([$clientId]);
    $client = $q->fetch();
    if ($client === false) {
        return standin_fail('Client ID Not Found');
    }
    $gateway = trim((string) ($post['paymentmethod'] ?? ''));
    if ($gateway === '') {
        return standin_fail('Invalid Payment Method. Valid options include ' . 'banktransfer,paypal');
    }
    $pids = (array) ($post['pid'] ?? []);
    $domains = (array) ($post['domain'] ?? []);
    $cycles = (array) ($post['billingcycle'] ?? []);
    $products = [];
    foreach ($pids as $i => $pid) {
        $p = $pdo->prepare('SELECT * FROM tblproducts WHERE id = ?');
        $p->execute([(int) $pid]);
        $product = $p->fetch();
        if ($product === false) {
            return standin_fail('Product ID Not Found');
        }
        $products[$i] = $product;
    }
    $today = new DateTimeImmutable(date('Y-m-d'));
    $pdo->beginTransaction();
    $pdo->prepare("INSERT INTO tblorders (ordernum, userid, date, amount, paymentmethod, invoiceid, status, notes)"
        . " VALUES (?, ?, NOW(), 0, ?, 0, 'Pending', '')")
        ->execute([random_int(1000000000, 9999999999), $clientId, $gateway]);
    $orderId = (int) $pdo->lastInsertId();
    $lines = [];
    $serviceIds = [];
    foreach ($products as $i => $product) {
        list($cycle, $first, $recurring) = standin_order_price($pdo, $product, (int) $client['currency'],
            (string) ($cycles[$i] ?? ''));
        // WHMCS picks a server of the product's server group when it creates the service
        $g = $pdo->prepare('SELECT serverid FROM tblservergroupsrel WHERE groupid = ? ORDER BY serverid LIMIT 1');
        $g->execute([(int) $product['servergroup']]);
        $serverId = (int) ($g->fetchColumn() ?: $pdo->query("SELECT id FROM tblservers WHERE type = 's3bridge'"
            . ' ORDER BY id LIMIT 1')->fetchColumn());
        $domain = (string) ($domains[$i] ?? '');
        $pdo->prepare("INSERT INTO tblhosting (userid, orderid, packageid, server, regdate, domain, paymentmethod,"
            . " firstpaymentamount, amount, billingcycle, nextduedate, nextinvoicedate, domainstatus, username,"
            . " password, notes, subscriptionid, suspendreason, dedicatedip, assignedips, ns1, ns2, qty,"
            . " termination_date, completed_date, promoid, overideautosuspend, overidesuspenduntil, diskusage,"
            . " disklimit, bwusage, bwlimit, lastupdate, promocount)"
            . " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Pending', '', '', '',"
            . " '', '', '', '', '', '', 1, '0000-00-00', '0000-00-00', 0, 0, '0000-00-00', 0, 0, 0, 0,"
            . " '0000-00-00 00:00:00', 0)")
            ->execute([$clientId, $orderId, (int) $product['id'], $serverId, $today->format('Y-m-d'), $domain,
                $gateway, $first, $recurring, $cycle, $today->format('Y-m-d'), $today->format('Y-m-d')]);
        $serviceId = (int) $pdo->lastInsertId();
        $serviceIds[] = $serviceId;
        $lines[] = [$serviceId, standin_invoice_line((string) $product['name'], $domain, $cycle, $today), $first];
    }
    $total = array_sum(array_map(function (array $line): float {
        return $line[2];
    }, $lines));
    $invoiceId = 0;
    $noInvoice = in_array((string) ($post['noinvoice'] ?? ''), ['1', 'true', 'on'], true);
    if (!$noInvoice && $total > 0) {
        $pdo->prepare("INSERT INTO tblinvoices (userid, invoicenum, date, duedate, subtotal, credit, tax, tax2, total,"
            . " status, paymentmethod, notes, created_at, updated_at)"
            . " VALUES (?, '', ?, ?, ?, 0, 0, 0, ?, 'Unpaid', ?, '', NOW(), NOW())")
            ->execute([$clientId, $today->format('Y-m-d'), $today->format('Y-m-d'), $total, $total, $gateway]);
        $invoiceId = (int) $pdo->lastInsertId();
        foreach ($lines as $line) {
            $pdo->prepare("INSERT INTO tblinvoiceitems (invoiceid, userid, type, relid, description, amount, taxed,"
                . " duedate, paymentmethod, notes) VALUES (?, ?, 'Hosting', ?, ?, ?, 0, ?, ?, '')")
                ->execute([$invoiceId, $clientId, $line[0], $line[1], $line[2], $today->format('Y-m-d'), $gateway]);
        }
    }
    $pdo->prepare('UPDATE tblorders SET amount = ?, invoiceid = ? WHERE id = ?')
        ->execute([$total, $invoiceId, $orderId]);
    $pdo->commit();
    return ['result' => 'success', 'orderid' => $orderId, 'serviceids' => implode(',', $serviceIds),
        'addonids' => '', 'domainids' => '', 'invoiceid' => $invoiceId];
}

/** One API action as WHMCS would run it; the answer array. */
function standin_api_action(PDO $pdo, string $action, array $post): array
{
    switch ($action) {
        case 'DecryptPassword':
            return (['result' => 'success', 'password' => standin_decrypt((string) ($post['password2'] ?? ''))]);
        case 'AddOrder':
            return standin_add_order($pdo, $post);
        case 'AcceptOrder':
            // developers.whmcs.com "AcceptOrder": a Pending order becomes Active; with autosetup the product module's
            // CreateAccount runs for each of its services (AddOrder never ran it: DESIGN). A module failure leaves
            // the service Pending and is answered as an error naming the module's message.
            $q = $pdo->prepare('SELECT * FROM tblorders WHERE id = ?');
            $q->execute([(int) ($post['orderid'] ?? 0)]);
            $order = $q->fetch();
            if ($order === false) {
                return standin_fail('Order ID Not Found');
            }
            if ((string) $order['status'] !== 'Pending') {
                return standin_fail('Order not in Pending Status');
            }
            $q = $pdo->prepare('SELECT id FROM tblhosting WHERE orderid = ? ORDER BY id');
            $q->execute([(int) $order['id']]);
            $autosetup = in_array((string) ($post['autosetup'] ?? ''), ['1', 'true', 'on'], true);
            foreach ($q->fetchAll() as $row) {
                if ($autosetup) {
                    standin_load_module();
                    $result = s3bridge_CreateAccount((array) standin_service_params($pdo, (int) $row['id']));
                    if ($result !== 'success') {
                        return standin_fail('Module Create Failed: ' . (string) $result);
                    }
                }
                $pdo->prepare("UPDATE tblhosting SET domainstatus = 'Active' WHERE id = ?")->execute([(int) $row['id']]);
            }
            $pdo->prepare("UPDATE tblorders SET status = 'Active' WHERE id = ?")->execute([(int) $order['id']]);
            return ['result' => 'success'];
        case 'AddCancelRequest':
            $service = standin_service($pdo, (int) ($post['serviceid'] ?? 0));
            if ($service === null) {
                return standin_fail('Service ID Not Found');
            }
            $q = $pdo->prepare('SELECT id FROM tblcancelrequests WHERE relid = ?');
            $q->execute([(int) $service['id']]);
            if ($q->fetch() !== false) {
                return standin_fail('Existing Cancellation Request Exists');
            }
            $type = (string) ($post['type'] ?? 'End of Billing Period');
            if (!in_array($type, ['Immediate', 'End of Billing Period'], true)) {
                return standin_fail('Invalid Cancellation Type');
            }
            $pdo->prepare('INSERT INTO tblcancelrequests (date, relid, reason, type) VALUES (NOW(), ?, ?, ?)')
                ->execute([(int) $service['id'], (string) ($post['reason'] ?? ''), $type]);
            return (['result' => 'success', 'serviceid' => (int) $service['id'],
                'userid' => (int) $service['userid']]);
        case 'UpdateClientProduct':
            if (standin_service($pdo, (int) ($post['serviceid'] ?? 0)) === null) {
                return standin_fail('Service ID Not Found');
            }
            if (isset($post['serviceusername'])) {
                $pdo->prepare('UPDATE tblhosting SET username = ? WHERE id = ?')
                    ->execute([(string) $post['serviceusername'], (int) $post['serviceid']]);
            }
            if (isset($post['servicepassword'])) {
                $pdo->prepare('UPDATE tblhosting SET password = ? WHERE id = ?')
                    ->execute(['standin-enc:' . base64_encode((string) $post['servicepassword']), (int) $post['serviceid']]);
            }
            return ['result' => 'success', 'serviceid' => (int) $post['serviceid']];
        case 'ModuleTerminate':
            $params = standin_service_params($pdo, (int) ($post['serviceid'] ?? 0));
            if ($params === null) {
                return standin_fail('Service ID Not Found');
            }
            standin_load_module();
            $result = s3bridge_TerminateAccount($params);
            if ($result !== 'success') {
                return standin_fail((string) $result);
            }
            $pdo->prepare("UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = ?")
                ->execute([(int) $params['serviceid']]);
            return ['result' => 'success'];
        default:
            return standin_fail('Command Not Found');
    }
}
