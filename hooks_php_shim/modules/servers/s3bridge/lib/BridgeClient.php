<?php

declare(strict_types=1);

namespace S3Bridge;

require_once __DIR__ . '/BridgeException.php';

/**
 * The shim's only channel to the s3bridge daemon (docs/PROTOCOL.md, protocol v1).
 *
 * One signed JSON POST per call, a connect and a total timeout, and every failure turned into a
 * BridgeException whose message is one sentence an admin can act on and never contains a secret.
 * Holds no business logic: it signs, sends, decodes, and carries out the effects the daemon returns.
 */
final class BridgeClient
{
    public const SIGNING_ALGORITHM = 'S3BRIDGE-HMAC-SHA256';
    public const MASK = '********';

    /** Key fragments (lower case) whose values are always treated as secrets when logging. */
    private const SECRET_KEY_FRAGMENTS = ['password', 'secret', 'accesshash', 'token'];

    /** Keys of WHMCS $params that always hold secrets. */
    private const SECRET_PARAM_KEYS = ['serverpassword', 'serveraccesshash', 'password'];

    private readonly string $baseUrl;
    private readonly ?string $socketPath;
    private readonly string $display;

    public function __construct(
        string $url,
        private readonly string $secret,
        private readonly float $connectTimeout = 3.0,
        private readonly float $timeout = 60.0,
    ) {
        if ($secret === '') {
            throw new BridgeException('s3bridge is not configured: the bridge secret is empty', 'not_configured');
        }
        if (!($connectTimeout > 0) || !($timeout > 0)) {
            throw new BridgeException(
                's3bridge is misconfigured: the connect timeout and the timeout must be positive numbers of seconds',
                'not_configured',
            );
        }
        [$this->baseUrl, $this->socketPath, $this->display] = self::parseUrl(trim($url));
    }

    /**
     * Reads S3BRIDGE_URL / S3BRIDGE_SECRET (optional S3BRIDGE_CONNECT_TIMEOUT / S3BRIDGE_TIMEOUT) from the
     * environment, each falling back to the same key of the array returned by $moduleDir/config.php.
     */
    public static function fromEnvironment(string $moduleDir): self
    {
        $moduleDir = rtrim($moduleDir, '/');
        $configFile = $moduleDir . '/config.php';
        $file = [];
        if (is_file($configFile)) {
            $file = self::loadConfigFile($configFile);
        }

        $url = self::env('S3BRIDGE_URL') ?? self::stringOrNull($file['url'] ?? null);
        $secret = self::env('S3BRIDGE_SECRET') ?? self::stringOrNull($file['secret'] ?? null);
        if ($url === null || $secret === null) {
            if ($file === []) {
                throw new BridgeException(
                    's3bridge is not configured: set S3BRIDGE_URL and S3BRIDGE_SECRET in the web server environment'
                    . ' or create ' . $moduleDir . '/config.php (see config.php.example)',
                    'not_configured',
                );
            }
            $missing = $url === null ? "'url'" : "'secret'";
            $envName = $url === null ? 'S3BRIDGE_URL' : 'S3BRIDGE_SECRET';
            throw new BridgeException(
                's3bridge is not configured: ' . $configFile . ' sets no ' . $missing . ' and ' . $envName
                . ' is not set in the web server environment (see config.php.example)',
                'not_configured',
            );
        }

        $connectTimeout = self::seconds(
            'S3BRIDGE_CONNECT_TIMEOUT',
            self::env('S3BRIDGE_CONNECT_TIMEOUT') ?? ($file['connect_timeout'] ?? null),
            3.0,
        );
        $timeout = self::seconds('S3BRIDGE_TIMEOUT', self::env('S3BRIDGE_TIMEOUT') ?? ($file['timeout'] ?? null), 60.0);

        return new self($url, $secret, $connectTimeout, $timeout);
    }

    /** The address shown in messages: "127.0.0.1:8750", "bridge.example:443" or "unix:/run/s3bridge/s3bridge.sock". */
    public function address(): string
    {
        return $this->display;
    }

    /** The canonical string of docs/PROTOCOL.md (fields joined by "\n", no trailing newline). */
    public static function canonicalString(string $method, string $path, string $timestamp, string $nonce, string $body): string
    {
        return implode("\n", [
            self::SIGNING_ALGORITHM,
            strtoupper($method),
            $path,
            $timestamp,
            $nonce,
            hash('sha256', $body),
        ]);
    }

    /** Lowercase hex HMAC-SHA256(secret, canonical string). */
    public static function sign(
        string $secret,
        string $method,
        string $path,
        string $timestamp,
        string $nonce,
        string $body,
    ): string {
        return hash_hmac('sha256', self::canonicalString($method, $path, $timestamp, $nonce, $body), $secret);
    }

    /**
     * POSTs {"params": $params} to $path (e.g. "/v1/module/TestConnection") and returns the decoded answer
     * (keys ok, result, effects) when it says ok: true; throws BridgeException otherwise.
     *
     * @param array<string, mixed> $params
     * @return array{ok: true, result: mixed, effects: list<mixed>}&array<string, mixed>
     */
    public function call(string $path, array $params): array
    {
        if (!preg_match('#^/[A-Za-z0-9/_.-]*$#', $path)) {
            throw new BridgeException('s3bridge shim bug: invalid daemon path ' . json_encode($path), 'bad_path');
        }
        try {
            $body = json_encode(['params' => (object) $params], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
        } catch (\JsonException $e) {
            throw new BridgeException(
                's3bridge could not encode the call to ' . $path . ' as JSON (' . $e->getMessage()
                . '); check the service and client fields for invalid UTF-8',
                'bad_params',
                0,
                '',
                $e,
            );
        }

        $timestamp = (string) time();
        $nonce = bin2hex(random_bytes(16));
        $signature = self::sign($this->secret, 'POST', $path, $timestamp, $nonce, $body);

        $requestId = '';
        $ch = curl_init($this->baseUrl . $path);
        if ($ch === false) {
            throw new BridgeException('s3bridge could not initialise curl in PHP', 'unreachable');
        }
        $options = [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_NOSIGNAL => true,
            CURLOPT_PROXY => '', // never send the signed call through an *_proxy from the environment
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->connectTimeout * 1000),
            CURLOPT_TIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_HTTPHEADER => [
                'Content-Type: application/json',
                'Accept: application/json',
                'Expect:',
                'X-S3Bridge-Timestamp: ' . $timestamp,
                'X-S3Bridge-Nonce: ' . $nonce,
                'X-S3Bridge-Signature: ' . $signature,
            ],
            CURLOPT_USERAGENT => 's3bridge-whmcs-shim/1',
            CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$requestId): int {
                if (stripos($line, 'x-request-id:') === 0) {
                    $requestId = trim(substr($line, strlen('x-request-id:')));
                }
                return strlen($line);
            },
        ];
        if ($this->socketPath !== null) {
            $options[CURLOPT_UNIX_SOCKET_PATH] = $this->socketPath;
        }
        curl_setopt_array($ch, $options);

        $raw = curl_exec($ch);
        $errno = curl_errno($ch);
        $error = curl_error($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $connectTime = (float) curl_getinfo($ch, CURLINFO_CONNECT_TIME);
        $osErrno = (int) curl_getinfo($ch, CURLINFO_OS_ERRNO);
        curl_close($ch);

        if ($errno !== 0 || !is_string($raw)) {
            throw $this->transportError($errno, $error, $connectTime, $osErrno);
        }

        return $this->decodeAnswer($raw, $status, $requestId);
    }

    /**
     * Carries out the daemon's effects in order. Each effect is {"type": "localapi", "command": ..., "params": {...}}
     * and runs through WHMCS's localAPI(). When $serviceId is not empty, an effect naming another service id
     * (params.serviceid) is refused.
     *
     * @param list<mixed> $effects
     */
    public function applyEffects(array $effects, int|string $serviceId): void
    {
        foreach ($effects as $index => $effect) {
            if (!is_array($effect)) {
                throw new BridgeException(
                    's3bridge daemon at ' . $this->display . ' sent effect #' . $index . ' that is not an object',
                    'bad_effect',
                );
            }
            $type = $effect['type'] ?? null;
            if ($type !== 'localapi') {
                throw new BridgeException(
                    's3bridge daemon at ' . $this->display . ' sent an effect of unknown type '
                    . json_encode($type, JSON_UNESCAPED_SLASHES) . '; update the WHMCS module to match the daemon',
                    'bad_effect',
                );
            }
            $command = $effect['command'] ?? null;
            $values = $effect['params'] ?? [];
            if (!is_string($command) || !preg_match('/^[A-Za-z][A-Za-z0-9]*$/', $command) || !is_array($values)) {
                throw new BridgeException(
                    's3bridge daemon at ' . $this->display . ' sent a localapi effect without a valid command and params',
                    'bad_effect',
                );
            }
            if ((string) $serviceId !== '' && (string) $serviceId !== '0' && array_key_exists('serviceid', $values)
                && (string) $values['serviceid'] !== (string) $serviceId) {
                throw new BridgeException(
                    's3bridge daemon at ' . $this->display . ' asked for WHMCS localAPI ' . $command . ' on service '
                    . (string) $values['serviceid'] . ' while handling service ' . (string) $serviceId . '; refused',
                    'bad_effect',
                );
            }
            if (!function_exists('localAPI')) {
                throw new BridgeException(
                    'WHMCS localAPI ' . $command . ' failed: localAPI() is not available outside WHMCS',
                    'effect_failed',
                );
            }
            $answer = \localAPI($command, $values);
            if (!is_array($answer) || ($answer['result'] ?? null) !== 'success') {
                $message = is_array($answer) ? ($answer['message'] ?? $answer['error'] ?? null) : null;
                $message = is_scalar($message) && (string) $message !== ''
                    ? (string) $message
                    : 'no message (result ' . json_encode(is_array($answer) ? ($answer['result'] ?? null) : $answer) . ')';
                $secrets = self::collectSecrets($values);
                throw new BridgeException(
                    'WHMCS localAPI ' . $command . ' failed: ' . self::maskIn($message, [...$secrets, $this->secret]),
                    'effect_failed',
                );
            }
        }
    }

    /**
     * Every secret value to hand to logModuleCall()'s $replaceVars: serverpassword, serveraccesshash, password,
     * the bridge secret, and every value (at any depth) whose key contains password/secret/accesshash/token in
     * $params and in each further array given (the daemon's effects or answer). Longest first, no duplicates.
     *
     * @param array<mixed> $params
     * @param array<mixed> ...$more
     * @return list<string>
     */
    public function secretsIn(array $params, array ...$more): array
    {
        $secrets = self::collectSecrets($params, ...$more);
        if (!in_array($this->secret, $secrets, true)) {
            $secrets[] = $this->secret;
        }
        usort($secrets, static fn(string $a, string $b): int => strlen($b) <=> strlen($a));
        return $secrets;
    }

    /**
     * Like secretsIn() without the bridge secret (for when no client could be built).
     *
     * @param array<mixed> ...$arrays
     * @return list<string>
     */
    public static function collectSecrets(array ...$arrays): array
    {
        $found = [];
        foreach ($arrays as $i => $array) {
            if ($i === 0) {
                foreach (self::SECRET_PARAM_KEYS as $key) {
                    self::addSecret($found, $array[$key] ?? null);
                }
            }
            self::walkSecrets($array, $found, false);
        }
        $list = array_map('strval', array_keys($found)); // numeric-string keys come back as int
        usort($list, static fn(string $a, string $b): int => strlen($b) <=> strlen($a));
        return $list;
    }

    /** Replaces every secret in $text by the mask. @param list<string> $secrets */
    public static function maskIn(string $text, array $secrets): string
    {
        usort($secrets, static fn(string $a, string $b): int => strlen($b) <=> strlen($a));
        foreach ($secrets as $secret) {
            if ($secret !== '') {
                $text = str_replace($secret, self::MASK, $text);
            }
        }
        return $text;
    }

    // ---------------------------------------------------------------------------------------------------------

    /** @param array<mixed> $array @param array<string, true> $found */
    private static function walkSecrets(array $array, array &$found, bool $underSecretKey): void
    {
        foreach ($array as $key => $value) {
            $isSecretKey = $underSecretKey || self::isSecretKey((string) $key);
            if (is_array($value)) {
                self::walkSecrets($value, $found, $isSecretKey);
                continue;
            }
            if ($isSecretKey) {
                self::addSecret($found, $value);
            }
            // WHMCS SendEmail customvars: base64(serialize(array)); mask the whole blob when it carries a secret.
            if (strtolower((string) $key) === 'customvars' && is_string($value) && $value !== '') {
                $decoded = base64_decode($value, true);
                $inner = $decoded === false ? false : @unserialize($decoded, ['allowed_classes' => false]);
                if (is_array($inner)) {
                    $before = count($found);
                    self::walkSecrets($inner, $found, false);
                    if (count($found) > $before) {
                        self::addSecret($found, $value);
                    }
                }
            }
        }
    }

    private static function isSecretKey(string $key): bool
    {
        $key = strtolower($key);
        foreach (self::SECRET_KEY_FRAGMENTS as $fragment) {
            if (str_contains($key, $fragment)) {
                return true;
            }
        }
        return false;
    }

    /** @param array<string, true> $found */
    private static function addSecret(array &$found, mixed $value): void
    {
        if (is_string($value) || is_int($value) || is_float($value)) {
            $value = (string) $value;
            if ($value !== '') {
                $found[$value] = true;
            }
        }
    }

    /** @return array{0: string, 1: ?string, 2: string} base URL, unix socket path, display address */
    private static function parseUrl(string $url): array
    {
        if (str_starts_with($url, 'unix:')) {
            $path = '/' . ltrim(substr($url, strlen('unix:')), '/');
            if ($path === '/') {
                throw new BridgeException(
                    's3bridge is misconfigured: S3BRIDGE_URL "unix:" needs a socket path, e.g. unix:/run/s3bridge/s3bridge.sock',
                    'not_configured',
                );
            }
            return ['http://localhost', $path, 'unix:' . $path];
        }
        $parts = parse_url($url);
        $scheme = is_array($parts) ? strtolower($parts['scheme'] ?? '') : '';
        if (!is_array($parts) || !in_array($scheme, ['http', 'https'], true) || ($parts['host'] ?? '') === '') {
            throw new BridgeException(
                's3bridge is misconfigured: S3BRIDGE_URL must look like http://127.0.0.1:8750, https://host:port'
                . ' or unix:/run/s3bridge/s3bridge.sock',
                'not_configured',
            );
        }
        if (isset($parts['user']) || isset($parts['pass']) || isset($parts['query']) || isset($parts['fragment'])
            || trim($parts['path'] ?? '', '/') !== '') {
            throw new BridgeException(
                's3bridge is misconfigured: S3BRIDGE_URL must be only scheme, host and port'
                . ' (no credentials, path or query), e.g. http://127.0.0.1:8750',
                'not_configured',
            );
        }
        $host = $parts['host'];
        $hostForUrl = str_contains($host, ':') && !str_starts_with($host, '[') ? '[' . $host . ']' : $host;
        $port = $parts['port'] ?? ($scheme === 'https' ? 443 : 80);
        $display = $hostForUrl . ':' . $port;
        $base = $scheme . '://' . $hostForUrl . (isset($parts['port']) ? ':' . $parts['port'] : '');
        return [$base, null, $display];
    }

    private function transportError(int $errno, string $error, float $connectTime, int $osErrno): BridgeException
    {
        $at = $this->display;
        $lower = strtolower($error);
        if ($errno === CURLE_OPERATION_TIMEDOUT) {
            if ($connectTime <= 0.0 && str_contains($lower, 'connect')) {
                return new BridgeException(
                    's3bridge daemon unreachable at ' . $at . ': no connection within '
                    . self::formatSeconds($this->connectTimeout) . ' s (connect timeout)',
                    'unreachable',
                );
            }
            return new BridgeException(
                's3bridge daemon at ' . $at . ' did not answer within ' . self::formatSeconds($this->timeout) . ' s',
                'timeout',
            );
        }
        if ($errno === CURLE_COULDNT_CONNECT) {
            // libcurl 7.8x says only "Couldn't connect to server": the OS errno tells why (Linux values as fallback).
            $is = static fn(string $const, int $linux): bool => $osErrno === (defined($const) ? constant($const) : $linux);
            $reason = match (true) {
                $is('SOCKET_ECONNREFUSED', 111) || str_contains($lower, 'refused') => 'connection refused',
                $is('SOCKET_EACCES', 13) || str_contains($lower, 'permission denied') => $this->socketPath !== null
                    ? 'permission denied (the web server user may not open the socket)'
                    : 'permission denied',
                $is('SOCKET_ENOENT', 2) || str_contains($lower, 'no such file')
                    || ($this->socketPath !== null && !file_exists($this->socketPath))
                    => 'the socket file does not exist (is the daemon running?)',
                $is('SOCKET_EHOSTUNREACH', 113) || str_contains($lower, 'no route to host') => 'no route to host',
                $is('SOCKET_ENETUNREACH', 101) || str_contains($lower, 'network is unreachable') => 'network is unreachable',
                $is('SOCKET_ETIMEDOUT', 110) => 'connection timed out',
                default => 'could not connect (' . self::maskIn($error, [$this->secret]) . ')',
            };
            return new BridgeException('s3bridge daemon unreachable at ' . $at . ': ' . $reason, 'unreachable');
        }
        if ($errno === CURLE_COULDNT_RESOLVE_HOST) {
            return new BridgeException(
                's3bridge daemon unreachable at ' . $at . ': the host name could not be resolved',
                'unreachable',
            );
        }
        // libcurl TLS errors: SSL_CONNECT_ERROR 35, PEER_FAILED_VERIFICATION 60, SSL_ENGINE_* 53/54, SSL_CERTPROBLEM 58,
        // SSL_CIPHER 59, USE_SSL_FAILED 64, SSL_CACERT_BADFILE 77, SSL_SHUTDOWN_FAILED 80, SSL_CRL_BADFILE 82,
        // SSL_ISSUER_ERROR 83, SSL_PINNEDPUBKEYNOTMATCH 90, SSL_INVALIDCERTSTATUS 91, SSL_CLIENTCERT 98.
        $tls = [35, 53, 54, 58, 59, 60, 64, 77, 80, 82, 83, 90, 91, 98];
        if (in_array($errno, $tls, true)) {
            return new BridgeException(
                's3bridge daemon unreachable at ' . $at . ': TLS failed (' . self::maskIn($error, [$this->secret]) . ')',
                'unreachable',
            );
        }
        $words = curl_strerror($errno) ?? ('curl error ' . $errno);
        $detail = $error !== '' && strcasecmp($error, $words) !== 0 ? ' (' . self::maskIn($error, [$this->secret]) . ')' : '';
        return new BridgeException(
            's3bridge daemon unreachable at ' . $at . ': ' . lcfirst($words) . $detail,
            'unreachable',
        );
    }

    /** @return array<string, mixed> */
    private function decodeAnswer(string $raw, int $status, string $requestId): array
    {
        $at = $this->display;
        try {
            $answer = json_decode($raw, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new BridgeException(
                's3bridge daemon at ' . $at . ' answered HTTP ' . $status . ' with a body that is not JSON',
                'bad_response',
                $status,
                $requestId,
                $e,
            );
        }
        if (!is_array($answer) || !is_bool($answer['ok'] ?? null)) {
            throw new BridgeException(
                's3bridge daemon at ' . $at . ' answered HTTP ' . $status . ' with JSON that is not an s3bridge answer',
                'bad_response',
                $status,
                $requestId,
            );
        }

        if ($answer['ok'] === true) {
            $answer['result'] = $answer['result'] ?? null;
            $effects = $answer['effects'] ?? [];
            $answer['effects'] = is_array($effects) ? array_values($effects) : [];
            return $answer;
        }

        $error = is_array($answer['error'] ?? null) ? $answer['error'] : [];
        $code = is_scalar($error['code'] ?? null) && (string) $error['code'] !== '' ? (string) $error['code'] : 'unknown';
        $message = is_scalar($error['message'] ?? null) ? trim((string) $error['message']) : '';
        $message = self::maskIn($message, [$this->secret]);

        if ($status === 401) {
            throw new BridgeException(
                's3bridge daemon at ' . $at . ' refused the request signature (' . $code . ': '
                . rtrim($message !== '' ? $message : 'no message', '.') . '); check that S3BRIDGE_SECRET matches one of'
                . " the daemon's [daemon] secrets and that the clocks agree",
                $code,
                $status,
                $requestId,
            );
        }
        if ($message === '') {
            $message = 's3bridge daemon at ' . $at . ' refused the call with HTTP ' . $status . ' (' . $code . ')'
                . ($requestId !== '' ? '; see request ' . $requestId . ' in the daemon log' : '');
        }
        throw new BridgeException($message, $code, $status, $requestId);
    }

    /** @return array<string, mixed> */
    private static function loadConfigFile(string $file): array
    {
        if (!is_readable($file)) {
            throw new BridgeException(
                's3bridge is misconfigured: ' . $file . ' exists but the web server user cannot read it',
                'not_configured',
            );
        }
        try {
            $config = (static fn(string $f): mixed => require $f)($file);
        } catch (\Throwable $e) {
            // The parser's message may quote a token of the file (a secret): name the line only.
            throw new BridgeException(
                's3bridge is misconfigured: ' . $file . ' fails to load (' . get_class($e) . ' on line '
                . $e->getLine() . ')',
                'not_configured',
            );
        }
        if (!is_array($config)) {
            throw new BridgeException(
                's3bridge is misconfigured: ' . $file . ' must return an array (see config.php.example)',
                'not_configured',
            );
        }
        return $config;
    }

    private static function env(string $name): ?string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            $value = $_SERVER[$name] ?? $_ENV[$name] ?? null;
        }
        return is_string($value) && trim($value) !== '' ? trim($value) : null;
    }

    private static function stringOrNull(mixed $value): ?string
    {
        return is_string($value) && trim($value) !== '' ? trim($value) : null;
    }

    private static function seconds(string $name, mixed $value, float $default): float
    {
        if ($value === null || $value === '') {
            return $default;
        }
        if (!is_numeric($value) || (float) $value <= 0) {
            throw new BridgeException(
                's3bridge is misconfigured: ' . $name . ' (or its config.php key) must be a positive number of seconds',
                'not_configured',
            );
        }
        return (float) $value;
    }

    private static function formatSeconds(float $seconds): string
    {
        return floor($seconds) === $seconds ? (string) (int) $seconds : rtrim(rtrim(sprintf('%.3f', $seconds), '0'), '.');
    }
}
