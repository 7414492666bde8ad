<?php

declare(strict_types=1);

namespace S3Bridge;

/**
 * Every failure of the shim -> daemon channel, as one sentence an admin can act on.
 *
 * The message never contains a secret. $errorCode carries the daemon's machine code
 * (e.g. "bad_signature", "backend_unreachable") or a shim-side code ("not_configured",
 * "unreachable", "timeout", "bad_response", "effect_failed"); $httpStatus the HTTP status
 * of the daemon's answer, 0 when there was none.
 */
final class BridgeException extends \RuntimeException
{
    public function __construct(
        string $message,
        public readonly string $errorCode = 'bridge_error',
        public readonly int $httpStatus = 0,
        public readonly string $requestId = '',
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }
}
