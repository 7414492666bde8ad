{* The module's part of the overview tab: HTML rendered and escaped by the s3bridge daemon, passed as an object so
   WHMCS's entity decoding of template variables cannot touch it; printed as is, never evaluated as Smarty. *}
{$s3bridge_html nofilter}
