#!/bin/sh
# Build the password file from the environment at start (secrets never live in the image or repo).
set -eu
f=/mosquitto/data/passwd
: > "$f"
for account in ingest simulator dashboard pub-traffic pub-weather pub-disaster pub-police pub-telecom pub-kpi pub-sta; do
  var=$(echo "IOC_MQTT_PASSWORD_$account" | tr 'a-z-' 'A-Z_')
  eval "pw=\${$var:-}"
  [ -n "$pw" ] && mosquitto_passwd -b "$f" "$account" "$pw"
done
chmod 0700 "$f"
chown mosquitto:mosquitto "$f" 2>/dev/null || true
exec mosquitto -c /mosquitto/config/mosquitto.conf
