{* The page after a storage panel action (s3bridge_Panel): HTML rendered and escaped by the s3bridge daemon, passed
   as an object so WHMCS's entity decoding of template variables cannot touch it; printed as is, never as Smarty. *}
{$s3bridge_html nofilter}
