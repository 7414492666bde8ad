{* Shown when the s3bridge daemon could not render the overview. *}
<div class="alert alert-warning" role="alert">{$s3bridge_error|escape:'html'}</div>
