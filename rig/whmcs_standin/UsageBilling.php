<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: WHMCS's usage billing API (7.9+) as a module meets it, written from WHMCS's
 * developer docs ("Usage Metrics", classdocs WHMCS\UsageBilling) and a decoded WHMCS 8.x install, never kinder:
 * - ProviderInterface: metrics(), usage() keyed by tenant, tenantUsage($tenant). MetricInterface's types are
 *   "snapshot", "day", "month"; a Metric given any other type silently becomes a snapshot.
 * - Usage casts its value to float; collectedAt/startAt/endAt default to now.
 * - Units: AbstractUnit's constructor REQUIRES a name (WholeNumber and FloatingPoint have no default: `new
 *   WholeNumber()` is an ArgumentCountError); Bytes/KiloBytes/MegaBytes/GigaBytes default their names and suffixes
 *   (binary: 1 GB = 1024 MB); FloatingPoint (and the byte units) round to 2 places, WholeNumber to 0.
 * - The cron task "Tenant Usage Metrics" (standin_tenant_usage_metrics below): for each server whose module has
 *   MetricProvider, it calls it with the server's params; anything not a ProviderInterface is ignored. usage() is
 *   stored per tenant: snapshot metrics keep the latest value; day and month metrics keep one value per day or
 *   month, overwritten by each collection (so a month metric must report the month so far, not an increment).
 *   A service finds its tenant by the module's MetaData ListAccountsUniqueIdentifierField (default "domain").
 * - WHMCS autoloads classes of namespace WHMCS\Module\Server\<Module> from the module's lib/ folder.
 * PHP 7.4 to 8.4.
 */

declare(strict_types=1);

namespace WHMCS\UsageBilling\Contracts\Metrics {

    interface UnitInterface
    {
        const TYPE_CURRENCY = 'currency';
        const TYPE_FLOAT_PRECISION_LOW = 'low';
        const TYPE_FLOAT_PRECISION_HIGH = 'high';
        const TYPE_INT = 'int';
        const TYPE_MICROTIME = 'microtime';
        public function name();
        public function perUnitName($value);
        public function prefix();
        public function suffix();
        public function type();
        public function decorate($value);
        public function formatForType($value);
        public function roundForType($value);
    }

    interface UsageInterface
    {
        public function collectedAt();
        public function startAt();
        public function endAt();
        public function value();
    }

    interface MetricInterface
    {
        const TYPE_SNAPSHOT = 'snapshot';
        const TYPE_PERIOD_DAY = 'day';
        const TYPE_PERIOD_MONTH = 'month';
        public function usage();
        public function withUsage(UsageInterface $usage);
        public function units();
        public function systemName();
        public function displayName();
        public function type();
    }

    interface ProviderInterface
    {
        public function metrics();
        public function tenantUsage($tenant);
        public function usage();
    }
}

namespace WHMCS\UsageBilling\Metrics\Units {

    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;

    abstract class AbstractUnit implements UnitInterface
    {
        private $name;
        private $single;
        private $plural;
        private $prefix;
        private $suffix;

        public function __construct($name, $singlePerUnitName = null, $pluralPerUnitName = null, $prefix = null,
                                    $suffix = null)
        {
            $this->name = $name;
            $this->single = $singlePerUnitName;
            $this->plural = $pluralPerUnitName;
            $this->prefix = $prefix;
            $this->suffix = $suffix;
        }

        public function name() { return (string) $this->name; }
        public function prefix() { return (string) $this->prefix; }
        public function suffix() { return (string) $this->suffix; }

        public function perUnitName($value = 0)
        {
            $first = round((float) $value) == 1 ? $this->single : $this->plural;
            $other = round((float) $value) == 1 ? $this->plural : $this->single;
            foreach ([$first, $other, $this->suffix, $this->name] as $candidate) {
                if ($candidate !== null) {
                    return $candidate;
                }
            }
            return '';
        }

        private function places(): int
        {
            $places = [self::TYPE_INT => 0, self::TYPE_FLOAT_PRECISION_LOW => 2, self::TYPE_CURRENCY => 2,
                self::TYPE_MICROTIME => 6];
            return $places[$this->type()] ?? 4;
        }

        public function roundForType($value) { return round((float) $value, $this->places()); }

        public function formatForType($value) { return number_format((float) $value, $this->places(), '.', ''); }

        public function decorate($value)
        {
            return trim(($this->prefix() !== '' ? $this->prefix() . ' ' : '') . $this->formatForType($value)
                . ($this->suffix() !== '' ? ' ' . $this->suffix() : ''));
        }

        abstract public function type();
    }

    class WholeNumber extends AbstractUnit
    {
        public function type() { return UnitInterface::TYPE_INT; }
    }

    class FloatingPoint extends AbstractUnit
    {
        public function type() { return UnitInterface::TYPE_FLOAT_PRECISION_LOW; }
    }

    class Bytes extends FloatingPoint
    {
        public function __construct($name = 'Bytes', $singlePerUnitName = 'Byte', $pluralPerUnitName = 'Bytes',
                                    $prefix = null, $suffix = 'B')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }

    class MegaBytes extends Bytes
    {
        public function __construct($name = 'Megabytes', $singlePerUnitName = null, $pluralPerUnitName = null,
                                    $prefix = null, $suffix = 'MB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }

    class GigaBytes extends Bytes
    {
        public function __construct($name = 'Gigabytes', $singlePerUnitName = null, $pluralPerUnitName = null,
                                    $prefix = null, $suffix = 'GB')
        {
            parent::__construct($name, $singlePerUnitName, $pluralPerUnitName, $prefix, $suffix);
        }
    }
}

namespace WHMCS\UsageBilling\Metrics {

    use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UnitInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\UsageInterface;

    class Usage implements UsageInterface
    {
        private $value;
        private $collectedAt;
        private $startAt;
        private $endAt;

        public function __construct($value, $collectedAt = null, $startAt = null, $endAt = null)
        {
            $this->collectedAt = is_numeric($collectedAt) ? (float) $collectedAt : microtime(true);
            $this->startAt = is_numeric($startAt) ? (float) $startAt : $this->collectedAt;
            $this->endAt = is_numeric($endAt) ? (float) $endAt : $this->collectedAt;
            $this->value = (float) $value;
        }

        public function collectedAt() { return $this->collectedAt; }
        public function startAt() { return $this->startAt; }
        public function endAt() { return $this->endAt; }
        public function value() { return $this->value; }
    }

    class NoUsage extends Usage
    {
    }

    class Metric implements MetricInterface
    {
        private $systemName;
        private $displayName;
        private $type;
        private $units;
        private $usage;

        public function __construct($systemName, $displayName = null, $type = null, ?UnitInterface $units = null,
                                    ?UsageInterface $usage = null)
        {
            $types = [self::TYPE_SNAPSHOT, self::TYPE_PERIOD_DAY, self::TYPE_PERIOD_MONTH];
            $this->systemName = $systemName;
            $this->displayName = $displayName === null ? $systemName : $displayName;
            $this->type = in_array($type, $types, true) ? $type : self::TYPE_SNAPSHOT;
            $this->units = $units === null ? new Units\FloatingPoint('') : $units;
            $this->usage = $usage === null ? new NoUsage(0) : $usage;
        }

        public function usage() { return $this->usage; }
        public function units() { return $this->units; }
        public function systemName() { return $this->systemName; }
        public function displayName() { return $this->displayName; }
        public function type() { return $this->type; }

        public function withUsage(?UsageInterface $usage = null)
        {
            return new static($this->systemName, $this->displayName, $this->type, $this->units, $usage);
        }
    }
}

namespace {

    use WHMCS\UsageBilling\Contracts\Metrics\MetricInterface;
    use WHMCS\UsageBilling\Contracts\Metrics\ProviderInterface;

    // WHMCS autoloads WHMCS\Module\Server\<Module>\X from modules/servers/<module>/lib/X.php (docs).
    function standin_module_autoloader(string $moduleDir): void
    {
        $prefix = 'WHMCS\\Module\\Server\\' . ucfirst(basename($moduleDir)) . '\\';
        spl_autoload_register(function (string $class) use ($prefix, $moduleDir): void {
            if (strpos($class, $prefix) === 0) {
                $file = $moduleDir . '/lib/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
                if (is_file($file)) {
                    include $file;
                }
            }
        });
    }

    /** What WHMCS makes of one metric: its shape as the product settings and the service page show it. */
    function standin_describe_metric($metric): array
    {
        if (!$metric instanceof MetricInterface) {
            throw new RuntimeException('WHMCS: a metric is not a MetricInterface: ' . gettype($metric));
        }
        $units = $metric->units();
        $usage = $metric->usage();
        return ['system' => $metric->systemName(), 'name' => $metric->displayName(), 'type' => $metric->type(),
            'unit' => ['class' => get_class($units), 'name' => $units->name(), 'suffix' => $units->suffix(),
                'type' => $units->type()],
            'value' => $usage->value(), 'shown' => $units->decorate($usage->value()),
            'collected_at' => $usage->collectedAt()];
    }

    /**
     * The "Tenant Usage Metrics" cron task for one server, and what the product page lists: returns the metrics
     * the provider offers, the stats WHMCS stores per tenant, and one tenant's refresh (the admin's "Refresh").
     */
    function standin_tenant_usage_metrics(string $module, array $serverParams, ?string $tenant): array
    {
        $function = $module . '_MetricProvider';
        if (!function_exists($function)) {
            return ['provider' => null];
        }
        $provider = $function($serverParams);
        if (!$provider instanceof ProviderInterface) {
            return ['provider' => is_object($provider) ? get_class($provider) : gettype($provider),
                'ignored' => 'not a ProviderInterface'];
        }
        $metrics = [];
        foreach ($provider->metrics() as $key => $metric) {
            $metrics[$key] = standin_describe_metric($metric);
        }
        $stats = [];
        $periods = [];
        foreach ($provider->usage() as $tenantName => $tenantMetrics) {
            foreach ($tenantMetrics as $metric) {
                $d = standin_describe_metric($metric);
                // Filed by the collection time in WHMCS's timezone (PHP's default timezone), not UTC (DESIGN "More,
                // from WHMCS 8.7's own code paths"; the task runs every 720 minutes).
                $period = $d['type'] === MetricInterface::TYPE_SNAPSHOT ? ''
                    : date($d['type'] === MetricInterface::TYPE_PERIOD_DAY ? 'Y-m-d' : 'Y-m', (int) $d['collected_at']);
                // One stat per tenant, metric (and day or month): a later collection overwrites the value.
                $stats[(string) $tenantName][$d['system']] = ['value' => $d['value'], 'type' => $d['type'],
                    'period' => $period, 'shown' => $d['shown']];
                $periods[(string) $tenantName][$d['system']][$period] = $d['value'];
            }
        }
        $one = null;
        if ($tenant !== null) {
            $one = array_map('standin_describe_metric', array_values((array) $provider->tenantUsage($tenant)));
        }
        return ['provider' => get_class($provider), 'metrics' => $metrics, 'stats' => $stats, 'periods' => $periods,
            'tenant' => $one];
    }
}
