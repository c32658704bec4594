#!/usr/bin/env bash
# Make sure the system programs citytwin runs are installed.
# As root on Debian/Ubuntu it installs what is missing with apt-get; anywhere else it
# names what is missing and the command that installs it, and fails.
set -euo pipefail

# package:program-that-proves-it-is-installed
REQUIRED=(
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_pub"
  "influxdb:/usr/bin/influxd"
  "influxdb-client:/usr/bin/influx"
  "ffmpeg:/usr/bin/ffprobe"
  "rtsp-server-perl:/usr/bin/rtsp-server-perl"
  "chromium:/usr/bin/chromium"
  "docker-compose:/usr/bin/docker-compose"
  "curl:/usr/bin/curl"
  "nginx-light:/usr/sbin/nginx"  # tests/compose: the compose config of Ditto's nginx
  "postgresql:/usr/lib/postgresql/*/bin/postgres"
  "python3-venv:(python module venv)"
  # the report's PDF (WeasyPrint): Pango lays text out, DejaVu has Vietnamese diacritics
  "libpango-1.0-0:/usr/lib/*/libpango-1.0.so.0"
  "libpangoft2-1.0-0:/usr/lib/*/libpangoft2-1.0.so.0"
  "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

missing=()
for entry in "${REQUIRED[@]}"; do
  package=${entry%%:*}
  path=${entry#*:}
  if [ "$package" = python3-venv ]; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=("$package")
  elif [[ "$path" == *"*"* ]]; then
    compgen -G "$path" >/dev/null || missing+=("$package")
  elif [ ! -e "$path" ]; then
    missing+=("$package")
  fi
done

# PostgreSQL refuses to run as root: the tests run their throwaway cluster as the
# unprivileged `postgres` user, which Debian's package creates.
ensure_postgres_user() {
  if getent passwd postgres >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -eq 0 ]; then
    echo "citytwin: creating the unprivileged system user postgres (for test databases)"
    useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  else
    echo "citytwin needs a system user named postgres; as root:" >&2
    echo "  sudo useradd --system --home-dir /var/lib/postgresql postgres" >&2
    return 1
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  ensure_postgres_user
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "citytwin: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  ensure_postgres_user
  exit 0
fi

echo "citytwin needs these system packages, which are not installed: ${missing[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "Install them as root:  sudo apt-get install -y ${missing[*]}" >&2
else
  echo "This is not a Debian/Ubuntu system: install the equivalent packages with your" >&2
  echo "package manager, or run citytwin with docker compose (see compose/README.md)." >&2
fi
exit 1
