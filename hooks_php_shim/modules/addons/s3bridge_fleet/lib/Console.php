<?php

/** The fleet console's page: the daemon renders it (escaped); this only forwards the admin's choice of page. */

declare(strict_types=1);

namespace S3BridgeFleet;

use S3Bridge\Bridge;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

final class Console
{
    const PAGES = ['servers', 'accounts', 'drift'];

    public static function page(array $vars): string
    {
        if (!isset($vars['modulelink'])) {  // called as anything but WHMCS's addon page: refuse
            return '';
        }
        // WHMCS entity-encodes request input; decode once, as the server module does.
        $get = function (string $key): string {
            $value = $_GET[$key] ?? '';
            return is_string($value) ? html_entity_decode($value, ENT_QUOTES, 'UTF-8') : '';
        };
        $page = in_array($get('page'), self::PAGES, true) ? $get('page') : 'servers';
        $language = is_string($_SESSION['adminlang'] ?? null) ? (string) $_SESSION['adminlang'] : 'english';
        $params = ['bridge_page' => $page, 'bridge_search' => substr($get('q'), 0, 400),
            'bridge_language' => $language];
        if (function_exists('generate_token')) {
            $params['bridge_csrf_token'] = (string) generate_token('plain');  // for the Drift page's repair forms
        }
        if (($_SERVER['REQUEST_METHOD'] ?? '') === 'POST' && ($_POST['s3action'] ?? '') === 'repair') {
            check_token('WHMCS.admin.default');  // WHMCS's admin token: stops the request on a mismatch
            $post = function (string $key): string {
                $value = $_POST[$key] ?? '';
                return is_string($value) ? html_entity_decode($value, ENT_QUOTES, 'UTF-8') : '';
            };
            $params['bridge_page'] = 'drift';
            $params['bridge_repair'] = ['serverid' => (int) $post('serverid'), 'kind' => $post('kind'),
                'subject' => substr($post('subject'), 0, 255), 'confirm' => substr($post('confirm'), 0, 255)];
        }
        try {
            $result = (array) Bridge::forward('FleetPage', $params);
        } catch (\Throwable $e) {
            return '<div class="alert alert-danger" role="alert">' . htmlspecialchars($e->getMessage(), ENT_QUOTES)
                . '</div>';
        }
        return (string) ($result['html'] ?? '');
    }
}
