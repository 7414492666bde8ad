#!/usr/bin/env bash
# Install what the product and its tests need on a fresh machine of this kind, idempotently:
# Debian packages (MariaDB, PHP CLI with curl and mysql, Smarty, Chromium, nginx), a Python venv with the project, the MinIO
# server built from source with `go install`, and PHP 7.4-8.3 as WebAssembly from npm (all cached outside the repo,
# reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${S3BRIDGE_CACHE:-$HOME/.cache/s3bridge}"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# 1. Debian packages
need=()
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v php >/dev/null 2>&1 || need+=(php-cli)
php -m 2>/dev/null | grep -qx curl || need+=(php-curl)
php -m 2>/dev/null | grep -qx mysqli || need+=(php-mysql)
[ -f /usr/share/php/smarty4/Smarty.class.php ] || need+=(smarty4)  # WHMCS renders module templates with Smarty
[ -f /usr/share/php/smarty3/Smarty.class.php ] || need+=(smarty3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # page tests: the client area in a real browser
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)  # the README's site for [api], tested
if [ ${#need[@]} -gt 0 ]; then
  say "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start system-wide servers; the rig runs its own on free ports, so stop those.
  { $SUDO systemctl stop mariadb 2>/dev/null || $SUDO service mariadb stop 2>/dev/null || true; } >/dev/null 2>&1
  { $SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true; } >/dev/null 2>&1
fi

# 2. Python venv with the project and its dev tools
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing the project and dev tools into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*; touch "$stamp"
fi

# 3. MinIO server from source
read -r name version < <(.venv/bin/python -m rig.minio_release)
bin="$CACHE/minio/$name/minio"
if [ ! -x "$bin" ]; then
  say "building MinIO $name (go install github.com/minio/minio@$version); takes a few minutes once"
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$version"); then
    echo "[setup] building MinIO $name failed: the command above is 'go install github.com/minio/minio@$version'" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$bin")"; mv "$tmp/bin/minio" "$bin"; rm -rf "$tmp"
fi
# 4. Bootstrap's CSS (WHMCS's default client theme is Bootstrap 4) for the page tests, from the npm registry
css="$CACHE/bootstrap-4.6.2/bootstrap.min.css"
if [ ! -f "$css" ]; then
  say "fetching bootstrap@4.6.2 (npm) for the page tests"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent bootstrap@4.6.2 >/dev/null && tar xzf bootstrap-4.6.2.tgz)
  mkdir -p "$(dirname "$css")"; cp "$tmp/package/dist/css/bootstrap.min.css" "$css"; rm -rf "$tmp"
fi

# 5. PHP 7.4, 8.0, 8.1 and 8.3 (the versions WHMCS supports besides Debian's 8.2) as WebAssembly under node, from
#    the npm registry: the shim's tests run on each (rig/shim.py).
wasm="$CACHE/php-wasm"
wasm_pkgs=(@php-wasm/cli@3.1.56 @php-wasm/node-7-4@3.1.56 @php-wasm/node-8-0@3.1.56 @php-wasm/node-8-1@3.1.56
           @php-wasm/node-8-3@3.1.56)
if [ ! -f "$wasm/.installed-3.1.56" ]; then
  say "installing PHP 7.4/8.0/8.1/8.3 (npm @php-wasm/cli 3.1.56) into $wasm"
  mkdir -p "$wasm"; [ -f "$wasm/package.json" ] || echo '{"name": "s3bridge-php-wasm", "private": true}' > "$wasm/package.json"
  (cd "$wasm" && npm install --silent --no-audit --no-fund "${wasm_pkgs[@]}" >/dev/null)
  touch "$wasm/.installed-3.1.56"
fi

say "ready: MinIO $name at $bin; $(php -r 'echo "PHP ", PHP_VERSION;'); $(mariadbd --version | cut -d' ' -f2-4)"
