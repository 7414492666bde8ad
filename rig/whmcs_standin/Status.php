<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: WHMCS\Service\Status (docs: Server Sync, "Status::ACTIVE or
 * Status::SUSPENDED"), the service statuses as tblhosting.domainstatus spells them.
 */

declare(strict_types=1);

namespace WHMCS\Service;

final class Status
{
    const PENDING = 'Pending';
    const ACTIVE = 'Active';
    const SUSPENDED = 'Suspended';
    const TERMINATED = 'Terminated';
    const CANCELLED = 'Cancelled';
    const FRAUD = 'Fraud';
    const COMPLETED = 'Completed';
}
