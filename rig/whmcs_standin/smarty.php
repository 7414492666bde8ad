<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: Smarty as WHMCS 8 runs it, shared by standin.php (module calls), clientarea.php
 * (the browser's client area) and the email rendering of SendEmail.
 *
 * Sources: WHMCS 8 renders with SmartyBC 3.1 (DESIGN "More, from WHMCS 8.7's own code paths"; Debian's smarty3
 * ships SmartyBC.class.php) under a security policy (docs.whmcs.com "Smarty Security Policy"):
 *   system (client area, module templates): PHP functions and modifiers not restricted; {php}, {include_php} and
 *     {insert} refused ("Allow Smarty PHP Tags" is off by default and gone in 9.0); only the special $smarty
 *     variables WHMCS enables (foreach, section, block, capture, now, get, post, server, request, template, const).
 *   mail (stored and dynamic email templates): modifiers escape, count, urlencode, ucfirst, date_format; PHP
 *     functions isset, empty, count, sizeof, in_array, is_array, time, nl2br; tags block, function, include refused;
 *     no static classes, no streams, no super globals.
 * Env STANDIN_SMARTY picks another Smarty folder (e.g. /usr/share/php/smarty4, which has no SmartyBC: plain Smarty
 * under the same policy).
 */

declare(strict_types=1);

const STANDIN_SMARTY_SPECIAL_VARS = ['foreach', 'section', 'block', 'capture', 'now', 'get', 'post', 'server',
    'request', 'template', 'const'];

/** A Smarty engine as WHMCS builds one for `$policy` ('system' or 'mail'), reading templates from $templateDir. */
function standin_smarty(string $templateDir, string $policy = 'system')
{
    $dir = getenv('STANDIN_SMARTY') ?: '/usr/share/php/smarty3';
    if (is_file($dir . '/SmartyBC.class.php')) {
        require_once $dir . '/SmartyBC.class.php';
        standin_smarty3_php81_exception();
        $smarty = new SmartyBC();
    } else {
        require_once $dir . '/Smarty.class.php';
        $smarty = new Smarty();
    }
    $smarty->setTemplateDir($templateDir);
    $smarty->setCompileDir(sys_get_temp_dir() . '/standin-smarty-' . getmypid());
    $security = new Smarty_Security($smarty);
    // WHMCS takes a list of enabled special variables and refuses the rest (docs: it ignores the "disabled" list).
    $security->disabled_special_smarty_vars = array_values(array_diff(['foreach', 'section', 'block', 'capture',
        'now', 'get', 'post', 'server', 'request', 'template', 'const', 'cookies', 'env', 'session', 'config',
        'version', 'ldelim', 'rdelim'], STANDIN_SMARTY_SPECIAL_VARS));
    $security->disabled_tags = ['private_php', 'include_php', 'insert'];  // {php} compiles as private_php
    if ($policy === 'mail') {
        $security->allowed_modifiers = ['escape', 'count', 'urlencode', 'ucfirst', 'date_format'];
        $security->php_modifiers = ['escape', 'count', 'urlencode', 'ucfirst'];
        $security->php_functions = ['isset', 'empty', 'count', 'sizeof', 'in_array', 'is_array', 'time', 'nl2br'];
        $security->disabled_tags = array_merge($security->disabled_tags, ['block', 'function', 'include']);
        $security->static_classes = null;
        $security->streams = null;
        $security->allow_super_globals = false;
    } else {
        $security->php_functions = [];  // empty: every PHP function (the system policy does not restrict PHP)
        $security->php_modifiers = [];
    }
    $smarty->enableSecurity($security);
    return $smarty;
}

/** A string template (an email body or subject) rendered under the mail policy; throws SmartyException on a template
 * that does not compile or that the policy refuses. */
function standin_smarty_string(string $template, array $vars): string
{
    $smarty = standin_smarty(sys_get_temp_dir(), 'mail');
    foreach ($vars as $name => $value) {
        $smarty->assign((string) $name, $value);
    }
    return (string) $smarty->fetch('string:' . $template);
}

/**
 * Debian's smarty3 (3.1.47) declares `public $line = null` on SmartyCompilerException, which PHP 8.1+ refuses (its
 * Exception::$line is an int): any template error would end in a fatal error instead of the exception WHMCS's own
 * copy of Smarty (3.1.48, fixed for PHP 8.1) throws. Declared here without that property (the line kept in Exception's own), before Smarty's autoloader would.
 */
function standin_smarty3_php81_exception(): void
{
    if (PHP_VERSION_ID >= 80100 && !class_exists('SmartyCompilerException', false)) {
        class_exists('SmartyException');
        eval('class SmartyCompilerException extends SmartyException { public $source = null; public $desc = null;'
            . ' public $template = null; public function __set($name, $value) { if ($name === "line") {'
            . ' $this->line = (int) $value; } } public function __get($name) { return $name === "line" ? $this->line'
            . ' : null; } public function __toString() { return " --> Smarty Compiler: " . $this->message . " <-- "; } }');
    }
}
