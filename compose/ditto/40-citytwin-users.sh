#!/bin/sh
# Writes nginx's users file for Eclipse Ditto's API at every start, from the environment:
# citytwin's account (DITTO_CITYTWIN_PASSWORD) hashed with SHA-512 crypt. The file lives on
# a tmpfs, readable by nginx's workers only. Run by the nginx image's entrypoint
# (/docker-entrypoint.d/).
set -eu
umask 027
: "${DITTO_CITYTWIN_PASSWORD:?DITTO_CITYTWIN_PASSWORD is not set}"
file=${DITTO_USERS_FILE:-/etc/nginx/auth/htpasswd}  # where nginx.conf reads it
if command -v mkpasswd >/dev/null 2>&1; then
  hash=$(printf '%s\n' "$DITTO_CITYTWIN_PASSWORD" | mkpasswd -s -m sha512)
elif command -v openssl >/dev/null 2>&1; then
  hash=$(printf '%s\n' "$DITTO_CITYTWIN_PASSWORD" | openssl passwd -6 -stdin)
else
  echo "40-citytwin-users.sh: neither mkpasswd nor openssl is in this image" >&2
  exit 1
fi
printf 'citytwin:%s\n' "$hash" > "$file"
chown root:nginx "$file" 2>/dev/null || true
chmod 0640 "$file"
