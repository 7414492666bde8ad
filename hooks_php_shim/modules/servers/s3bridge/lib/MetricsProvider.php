<?php

/**
 * WHMCS usage billing (7.9+): what s3bridge_MetricProvider() returns. The figures come from the daemon
 * (MetricUsage): per tenant (the service's username, MetaData ListAccountsUniqueIdentifierField), disk space now
 * (snapshot) and this month's traffic out, traffic in and requests so far (WHMCS keeps one value per month and
 * overwrites it with each collection). Gigabytes are binary, as WHMCS converts them (1 GB = 1024 MB). PHP 7.4+.
 * Loaded only when WHMCS asks for metrics, so WHMCS versions without usage billing never see these interfaces.
 */

declare(strict_types=1);

namespace WHMCS\Module\Server\S3bridge;

use S3Bridge\Bridge;
use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;
use WHMCS\UsageBilling\Metrics\Metric;
use WHMCS\UsageBilling\Metrics\Units\GigaBytes;
use WHMCS\UsageBilling\Metrics\Units\WholeNumber;
use WHMCS\UsageBilling\Metrics\Usage;

final class MetricsProvider implements ProviderInterface
{
    /** system name => [display name, type, unit]: the daemon's bridge/functions/metering.py METRICS, in order. */
    const METRICS = [
        'disk_space' => ['Disk Space', MetricInterface::TYPE_SNAPSHOT, 'GB'],
        'traffic_out' => ['Traffic Out', MetricInterface::TYPE_PERIOD_MONTH, 'GB'],
        'traffic_in' => ['Traffic In', MetricInterface::TYPE_PERIOD_MONTH, 'GB'],
        'requests' => ['Requests', MetricInterface::TYPE_PERIOD_MONTH, 'count'],
    ];

    /** @var array */
    private $params;

    public function __construct(array $params)
    {
        $this->params = $params;
    }

    /** Every metric, keyed by system name (no daemon call: WHMCS lists them on the product's settings page). */
    public function metrics()
    {
        $out = [];
        foreach (self::METRICS as $system => $definition) {
            $unit = $definition[2] === 'GB' ? new GigaBytes() : new WholeNumber('Requests', 'Request', 'Requests');
            $out[$system] = new Metric($system, $definition[0], $definition[1], $unit);
        }
        return $out;
    }

    /** All tenants of the server: tenant => metrics with usage. */
    public function usage()
    {
        return $this->fetch(null);
    }

    /** One tenant's metrics with usage (empty when the server has no such live service). */
    public function tenantUsage($tenant)
    {
        $usage = $this->fetch((string) $tenant);
        return $usage[(string) $tenant] ?? [];
    }

    private function fetch(?string $tenant): array
    {
        $params = $this->params;
        if ($tenant !== null) {
            $params['bridge_tenant'] = $tenant;
        }
        // WHMCS files a month value under the month of its collection time in WHMCS's own timezone (PHP's default
        // timezone in WHMCS): the daemon counts that month, and closes the previous one on a month's first run.
        $params['bridge_timezone'] = date_default_timezone_get();
        $answer = (array) Bridge::forward('MetricUsage', $params);
        $collected = (int) ($answer['collected_at'] ?? time());
        $out = $this->withUsage((array) ($answer['usage'] ?? []), $collected, true);
        $closing = (array) ($answer['closing'] ?? []);
        if (isset($closing['collected_at'])) {  // the previous month's full total, dated inside that month
            foreach ($this->withUsage((array) ($closing['usage'] ?? []), (int) $closing['collected_at'], false)
                as $name => $metrics) {
                $out[$name] = array_merge($metrics, $out[$name] ?? []);
            }
        }
        return $out;
    }

    /** tenant => metrics with usage collected at $collected (snapshots only when $snapshots). */
    private function withUsage(array $usage, int $collected, bool $snapshots): array
    {
        $monthStart = (int) mktime(0, 0, 0, (int) date('n', $collected), 1, (int) date('Y', $collected));
        $out = [];
        foreach ($usage as $name => $values) {
            foreach ($this->metrics() as $system => $metric) {
                $snapshot = $metric->type() === MetricInterface::TYPE_SNAPSHOT;
                if (!isset($values[$system]) || !is_numeric($values[$system]) || ($snapshot && !$snapshots)) {
                    continue;
                }
                $out[(string) $name][] = $metric->withUsage(new Usage((float) $values[$system], $collected,
                    $snapshot ? $collected : $monthStart, $collected));
            }
        }
        return $out;
    }
}
