<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: WHMCS\Config\Setting (docs: classes, WHMCS\Config\Setting::getValue /
 * setValue), the key-value settings WHMCS keeps in tblconfiguration (setting, value, created_at, updated_at).
 */

declare(strict_types=1);

namespace WHMCS\Config;

use WHMCS\Database\Capsule;

final class Setting
{
    public static function getValue(string $setting)
    {
        return Capsule::table('tblconfiguration')->where('setting', $setting)->value('value');
    }

    public static function setValue(string $setting, $value): void
    {
        $now = date('Y-m-d H:i:s');
        if (Capsule::table('tblconfiguration')->where('setting', $setting)->first() !== null) {
            Capsule::table('tblconfiguration')->updateOrInsert(['setting' => $setting],
                ['value' => (string) $value, 'updated_at' => $now]);
            return;
        }
        Capsule::table('tblconfiguration')->updateOrInsert(['setting' => $setting],
            ['value' => (string) $value, 'created_at' => $now, 'updated_at' => $now]);
    }
}
