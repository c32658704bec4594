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
  "python3-venv:(python module venv)"
)

missing=()
for entry in "${REQUIRED[@]}"; do
  package=${entry%%:*}
  path=${entry#*:}
  if [ "$package" = python3-venv ]; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=("$package")
  elif [ ! -e "$path" ]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "citytwin: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
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
