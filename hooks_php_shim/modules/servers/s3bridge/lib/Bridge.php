<?php

/**
 * The s3bridge module's glue (PHP 7.4 to 8.4): configuration, the signed call to the daemon (docs/PROTOCOL.md),
 * the effects it may ask for, the module log, and WHMCS's CSRF token for client-area actions.
 *
 * Everything lives in namespace S3Bridge: WHMCS's admin URL (`ac=`) runs any global function named s3bridge_*, so
 * helpers must not be global functions.
 */

declare(strict_types=1);

namespace S3Bridge;

/** Code UNREACHED: the daemon was not reached (configuration, transport, no s3bridge answer); 0: it refused. */
final class BridgeException extends \RuntimeException
{
    const UNREACHED = 1;
}

/** An effect WHMCS's localAPI refused: `answer` is WHMCS's own message. */
final class EffectFailed extends \RuntimeException
{
    public $answer;

    public function __construct(string $message, string $answer)
    {
        parent::__construct($message);
        $this->answer = $answer;
    }
}

/** A failed attempt another daemon (or a later one) may take over: `notDone` when the call surely did nothing. */
final class Failover extends \RuntimeException
{
    public $failure;
    public $notDone;
    public $retryAfter;

    public function __construct(BridgeException $failure, bool $notDone = false, float $retryAfter = 0.0)
    {
        parent::__construct($failure->getMessage());
        [$this->failure, $this->notDone, $this->retryAfter] = [$failure, $notDone, $retryAfter];
    }
}

// Escaped HTML from the daemon. WHMCS entity-decodes string template variables, not objects: pages travel as this.
final class Html
{
    private $html;
    public function __construct(string $html) { $this->html = $html; }
    public function __toString(): string { return $this->html; }
}

final class Bridge
{
    /** $params keys sent to the daemon (plus configoption1..24, a reduced clientsdetails and bridge_* keys). */
    const PARAM_KEYS = ['serviceid', 'userid', 'pid', 'serverid', 'domain', 'username', 'password', 'producttype',
        'moduletype', 'configoptions', 'customfields', 'server', 'serverip', 'serverhostname', 'serverusername',
        'serverpassword', 'serveraccesshash', 'serversecure', 'serverport', 'serverhttpprefix'];
    const CLIENT_KEYS = ['id', 'userid', 'firstname', 'lastname', 'companyname', 'email', 'language'];
    /** Values of these keys are secrets even when the daemon cannot say so (it was not reached). */
    const SECRET_KEYS = ['serverpassword', 'serveraccesshash', 'password', 'bridge_csrf_token'];
    /** The only localAPI commands the daemon may ask for. */
    const EFFECTS = ['UpdateClientProduct', 'SendEmail', 'AddCancelRequest', 'AddOrder'];
    /** Client functions that only read: every other function a client reaches must come with WHMCS's CSRF token. */
    const CLIENT_READS = ['ClientArea', 'Buttons'];
    /** The storage panel's actions that only read (plain GET links: downloads); every other one needs the token. */
    const PANEL_READS = ['download_url'];
    /** Form fields the panel's actions take (everything else in the request is ignored). */
    const PANEL_FIELDS = ['bucket_name', 'filename', 'prefix', 'name', 'expires', 'read_only', 'buckets',
        'access_key', 'token_id', 'reason', 'plan_id', 'location'];
    /** The client area's query keys for the storage tabs, and the daemon's names for them. */
    const PANEL_VIEW = ['s3tab' => 'bridge_tab', 'bucket' => 'bridge_bucket', 'prefix' => 'bridge_prefix',
        'q' => 'bridge_search', 'mode' => 'bridge_mode', 'cursor' => 'bridge_cursor'];
    /** Where the cron's last failure is kept for the admin tab (a WHMCS setting, tblconfiguration). */
    const CRON_SETTING = 'S3BridgeCronError';
    /** Functions a lost answer makes unsafe to repeat elsewhere (a repeat would rotate the secret again). */
    const NOT_REPEATABLE = ['ResetPassword'];
    const MAX_RETRY_AFTER = 10;

    /** Set once a custom function answered with its own page: WHMCS then calls ClientArea and discards the answer. */
    private static $pageAnswered = false;

    /** 'success' or the sentence WHMCS shows the admin. */
    public static function simple(string $function, array $params): string
    {
        try {
            self::forward($function, $params);
            return 'success';
        } catch (\Throwable $e) {
            return self::shown($e);
        }
    }

    public static function testConnection(array $params): array
    {
        $error = self::simple('TestConnection', $params);
        return ['success' => $error === 'success', 'error' => $error === 'success' ? '' : $error];
    }

    /** WHMCS's own overview stays; the module's output (with the storage tabs) is added below it. */
    public static function clientArea(array $params): array
    {
        if (self::$pageAnswered) {
            return [];  // WHMCS shows the custom function's page and throws this answer away: no daemon call
        }
        $params = self::panelView($params);
        try {
            $html = (string) (self::forward('ClientArea', $params)['html'] ?? '');
        } catch (\Throwable $e) {
            $html = '<div class="alert alert-warning">' . htmlspecialchars(self::shown($e), ENT_QUOTES) . '</div>';
        }
        return ['tabOverviewModuleOutputTemplate' => 'templates/overview.tpl',
            'templateVariables' => ['s3bridge_html' => new Html($html)]];
    }

    /**
     * The storage panel's forms and download links (custom function Panel): WHMCS's CSRF token is checked on every
     * change (Bridge::forward), the action goes to the daemon with the logged-in client, the WHMCS work it returns is
     * carried out, and the outcome page is shown; a download goes straight to its presigned URL.
     */
    public static function panel(array $params): array
    {
        self::$pageAnswered = true;
        $isPost = ($_SERVER['REQUEST_METHOD'] ?? '') === 'POST';
        $source = self::formInput($isPost ? $_POST : $_GET);
        $action = is_string($source['s3action'] ?? null) ? (string) $source['s3action'] : '';
        $args = ['s3uid' => (string) ($params['username'] ?? '')];
        foreach (self::PANEL_FIELDS as $field) {
            $value = $source[$field] ?? null;
            if (is_string($value)) {
                $args[$field] = $value;
            } elseif (is_array($value)) {
                $args[$field] = array_values(array_filter($value, 'is_string'));
            }
        }
        $params = self::panelView($params);
        $params['bridge_panel_action'] = $action;
        $params['bridge_panel_args'] = $args;
        $params['bridge_render'] = 1;
        try {
            $result = (array) self::forward('Panel', $params);
        } catch (\Throwable $e) {
            return self::panelPage('<div class="alert alert-danger" role="alert">'
                . htmlspecialchars(self::shown($e), ENT_QUOTES) . '</div>');
        }
        $envelope = (array) ($result['envelope'] ?? []);
        $url = is_string($envelope['url'] ?? null) ? $envelope['url'] : '';
        if ($action === 'download_url' && ($envelope['result'] ?? '') === 'OK' && preg_match('#^https?://#', $url)) {
            header('Location: ' . $url, true, 303);
            exit;
        }
        return self::panelPage((string) ($result['html'] ?? ''));
    }

    /** A custom client function's page, rendered from the module's template (an object: WHMCS won't decode it). */
    private static function panelPage(string $html): array
    {
        return ['templatefile' => 'templates/panel', 'breadcrumb' => ['#' => 'Storage'],
            'vars' => ['s3bridge_html' => new Html($html)]];
    }

    /** The tab and listing asked for, the CSRF token for the page's forms, and the page's own address. */
    private static function panelView(array $params): array
    {
        $query = self::formInput($_GET);
        foreach (self::PANEL_VIEW as $name => $key) {
            if (is_string($query[$name] ?? null)) {
                $params[$key] = substr((string) $query[$name], 0, 4096);
            }
        }
        if (function_exists('generate_token')) {
            $params['bridge_csrf_token'] = (string) generate_token('plain');
        }
        $system = self::systemUrl();
        $host = (string) ($_SERVER['HTTP_HOST'] ?? '');
        if ($system !== '') {  // WHMCS's System URL: right behind a TLS-terminating proxy, where HTTPS is unset
            $params['bridge_return_url'] = $system . 'clientarea.php?action=productdetails&id='
                . (int) ($params['serviceid'] ?? 0);
        } elseif ($host !== '' && preg_match('/^[A-Za-z0-9.:\[\]-]+$/', $host)) {
            $https = !empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off';
            $path = (string) parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/clientarea.php'), PHP_URL_PATH);
            $params['bridge_return_url'] = ($https ? 'https' : 'http') . '://' . $host . $path
                . '?action=productdetails&id=' . (int) ($params['serviceid'] ?? 0);
        }
        return $params;
    }

    /** WHMCS's System URL (General Settings; tblconfiguration `SystemURL`) with a trailing slash, or '' if unset. */
    private static function systemUrl(): string
    {
        try {
            $url = trim((string) \WHMCS\Config\Setting::getValue('SystemURL'));
        } catch (\Throwable $e) {
            return '';
        }
        return preg_match('#^https?://[^\s"\'<>?\#]+$#', $url) ? rtrim($url, '/') . '/' : '';
    }

    /**
     * What a client is shown when a call failed: a daemon that was not reached is the operator's problem, named in
     * the module log (and to admins); the client gets a plain sentence. Refusals (the daemon's own sentences) and
     * everything admins and the cron see stay as they are.
     */
    private static function shown(\Throwable $e): string
    {
        if (self::area() === 'client' && $e->getCode() === BridgeException::UNREACHED) {
            return 'The storage service is not available at the moment. Nothing was changed; please try again in a'
                . ' few minutes, and contact support if this goes on.';
        }
        return $e->getMessage();
    }

    /**
     * Request input as the customer sent it. WHMCS entity-encodes $_GET, $_POST and $_REQUEST (htmlspecialchars)
     * before a module runs, so `tom&jerry.txt` arrives as `tom&amp;jerry.txt`: decoded here, once, at any depth.
     */
    private static function formInput(array $input): array
    {
        $decoded = [];
        foreach ($input as $key => $value) {
            $decoded[$key] = is_array($value) ? self::formInput($value)
                : (is_string($value) ? html_entity_decode($value, ENT_QUOTES | ENT_HTML5, 'UTF-8') : $value);
        }
        return $decoded;
    }

    /** Label => HTML (printed raw by WHMCS; the daemon escapes). Adds the cron's last failure when there is one. */
    public static function adminTab(array $params): array
    {
        try {
            $fields = (array) (self::forward('AdminServicesTabFields', $params)['fields'] ?? []);
        } catch (\Throwable $e) {
            $fields = ['S3 Bridge' => htmlspecialchars($e->getMessage(), ENT_QUOTES)];
        }
        $cron = self::cronStatus();
        if ($cron !== '') {
            $fields['S3 Bridge cron'] = '<div class="alert alert-danger">' . htmlspecialchars($cron, ENT_QUOTES)
                . '</div>';
        }
        return $fields;
    }

    /** Admin buttons from the daemon (they depend on the backend); the MinIO set when it can't say. */
    public static function adminButtons(array $params): array
    {
        $default = ['Recalculate Disk Space' => 'RecalculateDiskSpace', 'Update Policy' => 'UpdatePolicy',
            'Set Standard Policy' => 'SetStandardPolicy', 'Set Limited Policy' => 'SetLimitedPolicy',
            'Change Password' => 'ResetPassword'];
        try {
            $answer = empty($params['serverusername']) ? null : self::forward('Buttons', $params);
        } catch (\Throwable $e) {
            $answer = null;
        }
        return is_array($answer['admin'] ?? null) ? $answer['admin'] : $default;
    }

    /** Server Sync: ['success' => bool, 'accounts' => [...]] or ['success' => false, 'error' => sentence]. */
    public static function listAccounts(array $params): array
    {
        try {
            $accounts = (array) (self::forward('ListAccounts', $params)['accounts'] ?? []);
        } catch (\Throwable $e) {
            return ['success' => false, 'error' => $e->getMessage()];
        }
        $suspended = class_exists('WHMCS\\Service\\Status') ? \WHMCS\Service\Status::SUSPENDED : 'Suspended';
        $active = class_exists('WHMCS\\Service\\Status') ? \WHMCS\Service\Status::ACTIVE : 'Active';
        $rows = [];
        foreach ($accounts as $a) {
            $a = (array) $a;
            $row = [];
            foreach (['email', 'username', 'domain', 'uniqueIdentifier', 'product', 'primaryip', 'created'] as $k) {
                $row[$k] = (string) ($a[$k] ?? '');
            }
            $row['status'] = ($a['status'] ?? '') === 'Suspended' ? $suspended : $active;
            $rows[] = $row;
        }
        return ['success' => true, 'accounts' => $rows];
    }

    /** The daily job (cron only): the daemon fills what WHMCS leaves out of $params from tblservers. */
    public static function usageUpdate(array $params): string
    {
        return self::fromCron('UsageUpdate', $params, $unreached);
    }

    /** AfterCronJob: EnforceLimits for every enabled server of this module; one failing server stops no other. */
    public static function cron(): void
    {
        $unreached = [];
        foreach (self::cronServers() as $params) {
            self::fromCron('EnforceLimits', $params, $unreached);
        }
    }

    /**
     * DailyCronJob: reconcile every enabled server (findings on the admin tab and the fleet console). config.php's
     * 'reconcile' => 'off' turns it off; 'reconcile_fix' => 'safe' also applies the safe repairs (state and policy
     * as WHMCS says). Deleting an orphan's data is never done from the cron.
     */
    public static function dailyCron(): void
    {
        try {
            $config = self::config();
        } catch (\Throwable $e) {
            return; // the 5-minute cron reports an unreadable configuration on the admin tab
        }
        $mode = strtolower((string) ($config['reconcile'] ?? 'daily'));
        if ($mode === 'off') {
            return;
        }
        $fix = ($config['reconcile_fix'] ?? 'none') === 'safe' ? 'safe' : 'none';
        $unreached = [];
        foreach (self::cronServers() as $params) {
            self::fromCron('Reconcile', $params + ['bridge_fix' => $fix], $unreached);
        }
    }

    /** The $params WHMCS would build for each enabled server of this module. */
    private static function cronServers(): array
    {
        $out = [];
        $servers = \WHMCS\Database\Capsule::table('tblservers')->where('type', 's3bridge')->where('disabled', 0)->get();
        foreach ($servers as $server) {
            // tblservers holds HTML-encoded text; WHMCS decodes it before building $params, and so do we.
            $text = function (string $column) use ($server): string {
                return html_entity_decode((string) $server->$column, ENT_QUOTES, 'UTF-8');
            };
            $out[] = ['serverid' => (int) $server->id,
                'serverhostname' => $text('hostname') !== '' ? $text('hostname') : $text('ipaddress'),
                'serverip' => $text('ipaddress'), 'serverusername' => $text('username'),
                'serverpassword' => (string) decrypt((string) $server->password),
                'serveraccesshash' => $text('accesshash'), 'serverport' => (int) $server->port,
                'serversecure' => in_array($text('secure'), ['on', '1'], true)];
        }
        return $out;
    }

    /** A cron call; when the daemon was not reached, the admin tab says so until a cron call reaches it again. */
    private static function fromCron(string $function, array $params, ?array &$unreached): string
    {
        try {
            self::forward($function, $params);
            $outcome = 'success';
        } catch (\Throwable $e) {
            $outcome = $e->getMessage();
        }
        $unreached = $unreached ?? [];
        if (($e ?? null) !== null && $e->getCode() === BridgeException::UNREACHED) {
            $unreached[] = $outcome;
        }
        try {
            $status = $unreached === [] ? '' : date('Y-m-d H:i ') . $unreached[0];
            \WHMCS\Config\Setting::setValue(self::CRON_SETTING, $status);
        } catch (\Throwable $ignored) { // the status line must never break the cron itself
        }
        return $outcome;
    }

    /**
     * CSRF guard for client-area actions (WHMCS's custom-function links are tokenless GETs): the request must be a
     * POST carrying WHMCS's token, which WHMCS's check_token() verifies (it stops the request on a mismatch).
     * Forms post it with the daemon's `csrf_form` macro (bridge/views/templates/_csrf.html.j2).
     */
    public static function requirePostedToken(): void
    {
        $token = $_POST['token'] ?? null;
        if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST' || !is_string($token) || $token === '') {
            throw new BridgeException('This action needs the button on the service page; the link used was refused'
                . ' because it did not carry the form\'s security token. Nothing was changed.');
        }
        check_token('WHMCS.default');
    }

    /** Sends one module function to the daemon, applies the effects it returns, logs the call; returns `result`. */
    public static function forward(string $function, array $params)
    {
        $sent = self::allowedParams($params);
        $secrets = array_values(array_filter(array_map(function (string $k) use ($sent): string {
            return is_scalar($sent[$k] ?? null) ? (string) $sent[$k] : '';
        }, self::SECRET_KEYS)));
        $answer = null;
        try {
            // Decided by the area, not by who is in the session: an admin using "Login as Client" is a client here.
            if (self::area() === 'client' && !in_array($function, self::CLIENT_READS, true)
                && !($function === 'Panel' && in_array($sent['bridge_panel_action'] ?? '', self::PANEL_READS, true))) {
                self::requirePostedToken();
                $sent['bridge_csrf'] = 'checked';  // the daemon refuses panel changes without it
            }
            $config = self::config();
            $secrets[] = $config['secret'];
            $answer = self::post($config, '/v1/module/' . $function, $sent);
            $secrets = array_merge($secrets, array_map('strval', (array) ($answer['secrets'] ?? [])));
            foreach ((array) ($answer['effects'] ?? []) as $effect) {
                $effect = is_array($effect) ? $effect : [];
                try {
                    self::apply($effect, (string) ($sent['serviceid'] ?? ''),
                        (string) ($sent['bridge_client_id'] ?? ''));
                } catch (EffectFailed $failed) {
                    throw self::undo($config, $sent, $effect, $failed, $secrets);
                }
            }
        } catch (\Throwable $e) {
            $message = self::mask($e->getMessage(), $secrets);
            self::log($function, $sent, ['error' => $message, 'answer' => $answer], '', $secrets);
            throw new BridgeException($message, $e instanceof BridgeException ? $e->getCode() : 0);
        }
        self::log($function, $sent, $answer, $answer['result'] ?? null, $secrets);
        return $answer['result'] ?? null;
    }

    // ---------------------------------------------------------------------------------------------------------

    /** config.php beside the module (readable by the web server and the cron user); env S3BRIDGE_* overrides. */
    private static function config(): array
    {
        $file = dirname(__DIR__) . '/config.php';
        $config = [];
        if (is_file($file)) {
            if (!is_readable($file)) {
                throw self::unreached("s3bridge is misconfigured: $file exists but this user cannot read it"
                    . ' (the web server and the cron user both need to)');
            }
            try {
                $config = (array) (static function (string $f) {
                    return require $f;
                })($file);
            } catch (\Throwable $e) { // the parser's message may quote a secret: name the line only
                throw self::unreached("s3bridge is misconfigured: $file fails to load (line {$e->getLine()})");
            }
        }
        if (is_array($config['url'] ?? null)) { // several daemons: tried in this order
            $config['url'] = implode(',', $config['url']);
        }
        foreach (['url', 'secret', 'connect_timeout', 'timeout'] as $key) {
            $env = trim((string) getenv('S3BRIDGE_' . strtoupper($key)));
            $config[$key] = trim((string) ($env !== '' ? $env : ($config[$key] ?? '')));
        }
        if ($config['url'] === '' || $config['secret'] === '') {
            throw self::unreached("s3bridge is not configured: create $file from config.php.example with the"
                . " daemon's url and secret (env S3BRIDGE_URL / S3BRIDGE_SECRET only override it)");
        }
        $config['urls'] = preg_split('/[\s,]+/', $config['url'], -1, PREG_SPLIT_NO_EMPTY) ?: [];
        foreach ($config['urls'] as $url) {
            if (!preg_match('#^(https?://[^/?\#@]+/?|unix:/.+)$#', $url)) {
                throw self::unreached('s3bridge is misconfigured: url must look like http://127.0.0.1:8750,'
                    . ' https://host:port or unix:/run/s3bridge/s3bridge.sock (several: a list, or comma-separated)');
            }
        }
        foreach (['connect_timeout' => 3, 'timeout' => 60] as $key => $default) {
            $config[$key] = (float) ($config[$key] !== '' ? $config[$key] : $default);
            if ($config[$key] <= 0) {
                throw self::unreached("s3bridge is misconfigured: $key must be a positive number of seconds");
            }
        }
        return $config;
    }

    /**
     * The call, on the first daemon that takes it. Moves to the next URL when a daemon was not reached (any call),
     * and, for calls safe to repeat (all but NOT_REPEATABLE: each converges when run again), when the answer was lost
     * or the daemon said 503: then after its Retry-After (at most MAX_RETRY_AFTER seconds).
     */
    private static function post(array $config, string $path, array $params): array
    {
        $repeatable = !in_array(substr($path, strrpos($path, '/') + 1), self::NOT_REPEATABLE, true);
        $urls = $config['urls'];
        for ($attempt = 1; ; $attempt++) {
            try {
                return self::postOnce($config, $urls[($attempt - 1) % count($urls)], $path, $params);
            } catch (Failover $f) {
                $elsewhere = count($urls) > 1 || $f->retryAfter > 0; // one daemon: only a 503 is worth a wait
                if ($attempt >= count($urls) + 1 || !$elsewhere || !($f->notDone || $repeatable)) {
                    throw $f->failure;
                }
                usleep((int) (min($f->retryAfter, self::MAX_RETRY_AFTER) * 1000000));
            }
        }
    }

    /** One signed POST to one daemon; every failure becomes one sentence naming the daemon's address. */
    private static function postOnce(array $config, string $url, string $path, array $params): array
    {
        $socket = strpos($url, 'unix:') === 0 ? substr($url, 5) : null;
        $at = $socket !== null ? "unix:$socket" : (string) preg_replace('#^https?://#', '', rtrim($url, '/'));
        if ($socket === null && strpos($at, ':') === false) {
            $at .= strpos($url, 'https:') === 0 ? ':443' : ':80';
        }
        $retryAfter = 0.0;
        $body = (string) json_encode(['params' => (object) $params],
            JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
        [$time, $nonce] = [(string) time(), bin2hex(random_bytes(16))];
        $signature = hash_hmac('sha256', implode("\n", ['S3BRIDGE-HMAC-SHA256', 'POST', $path, $time, $nonce,
            hash('sha256', $body)]), $config['secret']);
        $ch = curl_init(($socket !== null ? 'http://localhost' : rtrim($url, '/')) . $path);
        curl_setopt_array($ch, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body, CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false, CURLOPT_NOSIGNAL => true, CURLOPT_PROXY => '',
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($config['connect_timeout'] * 1000),
            CURLOPT_TIMEOUT_MS => (int) ceil($config['timeout'] * 1000), CURLOPT_USERAGENT => 's3bridge-whmcs-shim/2',
            CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'Expect:', "X-S3Bridge-Timestamp: $time",
                "X-S3Bridge-Nonce: $nonce", 'X-S3Bridge-Signature: ' . $signature],
            CURLOPT_HEADERFUNCTION => function ($ch, string $line) use (&$retryAfter): int {
                if (stripos($line, 'Retry-After:') === 0) {
                    $retryAfter = (float) trim(substr($line, 12));
                }
                return strlen($line);
            }] + ($socket !== null ? [CURLOPT_UNIX_SOCKET_PATH => $socket] : []));
        $raw = curl_exec($ch);
        $errno = curl_errno($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $why = strtolower(curl_error($ch));
        $osErrno = (int) curl_getinfo($ch, CURLINFO_OS_ERRNO);
        curl_close($ch);
        if ($errno !== 0 || !is_string($raw)) {
            if ($errno === CURLE_OPERATION_TIMEDOUT && strpos($why, 'connect') === false) {
                $late = "s3bridge daemon at $at did not answer within {$config['timeout']} s";
                throw new Failover(self::unreached($late));
            }
            $reasons = ['refused' => 'connection refused', 'no such file' => 'the socket file does not exist (is the'
                . ' daemon running?)', 'permission denied' => 'permission denied (this user may not open the socket)',
                'resolve' => 'the host name could not be resolved', 'timed out' => 'no connection within '
                . $config['connect_timeout'] . ' s', 'ssl' => 'TLS failed (' . $why . ')'];
            $reason = $osErrno === 111 ? 'connection refused' : ($why !== '' ? $why : "curl error $errno");
            foreach ($reasons as $needle => $sentence) {
                if (strpos($why, $needle) !== false) {
                    $reason = $sentence;
                    break;
                }
            }
            // Not connected at all: the call did nothing there, whatever it is. Connected, then lost: maybe done.
            $notDone = in_array($errno, [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST], true)
                || $errno === CURLE_OPERATION_TIMEDOUT || $osErrno === 111 || strpos($why, 'no such file') !== false;
            throw new Failover(self::unreached("s3bridge daemon unreachable at $at: $reason"), $notDone);
        }
        $answer = json_decode($raw, true);
        if (!is_array($answer) || !is_bool($answer['ok'] ?? null)) {
            throw self::unreached("s3bridge daemon at $at answered HTTP $status with something not an s3bridge answer");
        }
        if ($answer['ok']) {
            return $answer;
        }
        $code = (string) ($answer['error']['code'] ?? 'unknown');
        $message = trim((string) ($answer['error']['message'] ?? ''));
        if ($status === 401) {
            throw self::unreached("s3bridge daemon at $at refused the request signature ($code: " . rtrim($message, '.')
                . "); check that config.php's secret (or S3BRIDGE_SECRET) is one of the daemon's [daemon] secrets"
                . ' and that the clocks agree');
        }
        $failure = new BridgeException($message !== '' ? $message : "s3bridge daemon at $at refused the call ($code)");
        if ($status === 503) { // overloaded or busy: refused before doing anything; database down: maybe half done
            throw new Failover($failure, in_array($code, ['overloaded', 'service_busy'], true), max($retryAfter, 1.0));
        }
        throw $failure;
    }

    /**
     * One effect: an allow-listed localAPI command about the service being handled (an order: for the logged-in
     * client), and nothing else.
     */
    private static function apply(array $effect, string $serviceId, string $clientId): void
    {
        $command = (string) ($effect['command'] ?? '');
        $values = is_array($effect['params'] ?? null) ? $effect['params'] : [];
        if (($effect['type'] ?? '') !== 'localapi' || !in_array($command, self::EFFECTS, true)) {
            throw new BridgeException("s3bridge daemon asked for '$command', which is not an effect this module carries"
                . ' out (allowed: ' . implode(', ', self::EFFECTS) . '); refused');
        }
        if ($command === 'AddOrder') {
            if ($clientId === '' || (string) ($values['clientid'] ?? '') !== $clientId) {
                throw new BridgeException('s3bridge daemon asked for an order for client ' . ($values['clientid'] ?? '?')
                    . ' while client ' . ($clientId !== '' ? $clientId : 'nobody') . ' is logged in; refused');
            }
        } elseif ($serviceId !== '' && $serviceId !== '0'
            && (string) ($values['serviceid'] ?? $values['id'] ?? '') !== $serviceId) {
            $target = (string) ($values['serviceid'] ?? $values['id'] ?? '');
            throw new BridgeException("s3bridge daemon asked for $command on service $target while handling service"
                . " $serviceId; refused");
        }
        // WHMCS's AddOrder empties the client's shopping cart when called inside their session: keep it.
        $cart = $command === 'AddOrder' && isset($_SESSION['cart']) ? $_SESSION['cart'] : null;
        $result = localAPI($command, $values);
        if ($cart !== null) {
            $_SESSION['cart'] = $cart;
        }
        if (($result['result'] ?? '') !== 'success') {
            $said = is_scalar($result['message'] ?? null) ? (string) $result['message'] : 'no message';
            throw new EffectFailed("WHMCS localAPI $command failed: $said", $said);
        }
    }

    /**
     * A panel effect WHMCS refused that names its undo (docs/PROTOCOL.md "Effects": an order's AddOrder): the daemon
     * is told once, with WHMCS's message, and its sentence is what the client reads. Without an undo, or when the
     * daemon cannot be told, the refusal itself.
     */
    private static function undo(array $config, array $sent, array $effect, EffectFailed $failed,
        array &$secrets): \Throwable
    {
        $undo = $effect['undo'] ?? null;
        if (!is_array($undo) || !is_string($undo['panel_action'] ?? null) || !isset($sent['bridge_panel_action'])) {
            return $failed;
        }
        $call = $sent;
        $call['bridge_panel_action'] = $undo['panel_action'];
        $call['bridge_panel_args'] = ['order_ref' => (string) ($undo['order_ref'] ?? ''), 'reason' => $failed->answer];
        unset($call['bridge_render']);
        try {
            $answer = self::post($config, '/v1/module/Panel', $call);
        } catch (\Throwable $e) {  // the refusal stands; why the daemon was not told goes to the module log only
            self::log('Panel', $call, ['error' => self::mask($e->getMessage(), $secrets)], '', $secrets);
            return $failed;
        }
        $secrets = array_merge($secrets, array_map('strval', (array) ($answer['secrets'] ?? [])));
        self::log('Panel', $call, $answer, null, $secrets);
        $envelope = (array) (((array) ($answer['result'] ?? []))['envelope'] ?? []);
        $message = $envelope['message'] ?? null;
        return new BridgeException(is_string($message) && $message !== '' ? $message : $failed->getMessage());
    }

    private static function allowedParams(array $params): array
    {
        $sent = [];
        foreach ($params as $key => $value) {
            $key = (string) $key;
            if (in_array($key, self::PARAM_KEYS, true) || preg_match('/^configoption([1-9]|1\d|2[0-4])$/', $key)
                || strpos($key, 'bridge_') === 0) {
                $sent[$key] = self::plain($value);
            }
        }
        $client = (array) ($params['clientsdetails'] ?? []);
        $sent['clientsdetails'] = (object) array_intersect_key($client, array_flip(self::CLIENT_KEYS));
        foreach (['configoptions', 'customfields'] as $key) {
            $sent[$key] = (object) ($sent[$key] ?? []);
        }
        unset($sent['bridge_client_id'], $sent['bridge_admin_id'], $sent['bridge_csrf']);
        // Who is asking, by the area the request came from: the daemon lets a client see only their own services.
        // WHMCS keeps admin and client in one PHP session, so an admin id in it says nothing about this request.
        $area = self::area();
        if ($area === 'client' && !empty($_SESSION['uid'])) {
            $sent['bridge_client_id'] = (int) $_SESSION['uid'];
        } elseif ($area !== 'client' && !empty($_SESSION['adminid'])) {
            $sent['bridge_admin_id'] = (int) $_SESSION['adminid'];
        }
        return $sent;
    }

    /**
     * Where the request came from: 'admin' (WHMCS's admin pages define ADMINAREA), 'client' (clientarea.php and the
     * other client pages define CLIENTAREA; a client in the session outside the admin area counts as one too: the
     * strict side), or 'system' (cron, API: no client session).
     */
    private static function area(): string
    {
        if (defined('ADMINAREA')) {
            return 'admin';
        }
        return defined('CLIENTAREA') || !empty($_SESSION['uid']) ? 'client' : 'system';
    }

    /** Drops objects and resources at any depth (WHMCS passes models, e.g. $params['model']). */
    private static function plain($value)
    {
        if (is_array($value)) {
            return array_map([self::class, 'plain'], array_filter($value, function ($v): bool {
                return !is_object($v) && !is_resource($v);
            }));
        }
        return is_object($value) || is_resource($value) ? null : $value;
    }

    private static function log(string $function, array $request, $response, $processed, array $secrets): void
    {
        if (function_exists('logModuleCall')) {
            usort($secrets, function (string $a, string $b): int {
                return strlen($b) - strlen($a);
            });
            logModuleCall('s3bridge', $function, $request, $response, $processed, array_values(array_unique($secrets)));
        }
    }

    private static function unreached(string $message): BridgeException
    {
        return new BridgeException($message, BridgeException::UNREACHED);
    }

    /** Secrets in a message become stars (under 4 characters they would hit ordinary words: as the daemon does). */
    private static function mask(string $text, array $secrets): string
    {
        foreach ($secrets as $secret) {
            if (strlen((string) $secret) >= 4) {
                $text = str_replace((string) $secret, str_repeat('*', strlen((string) $secret)), $text);
            }
        }
        return $text;
    }

    private static function cronStatus(): string
    {
        try {
            $value = \WHMCS\Config\Setting::getValue(self::CRON_SETTING);
        } catch (\Throwable $e) {
            return '';
        }
        return (string) $value === '' ? '' : "WHMCS's cron could not reach the s3bridge daemon ($value): usage figures"
            . ' and limits are not being updated. The cron runs from the command line as its own user, without the'
            . " web server's environment: it must be able to read config.php.";
    }
}
