{* The client area overview, rendered and escaped by the s3bridge daemon (bridge/views). *}
{$s3bridge_html}
