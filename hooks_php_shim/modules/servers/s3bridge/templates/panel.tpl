{* The page after a storage panel action (s3bridge_Panel): HTML rendered and escaped by the s3bridge daemon. *}
{$s3bridge_html nofilter}
