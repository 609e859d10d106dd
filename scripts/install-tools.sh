#!/usr/bin/env bash
# Installs what the demos' tests need beside Python: a JDK (Debian) and the Kotlin compiler (npm's
# kotlin-compiler package, which ships kotlinc for the JVM) into .tools/. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jdk-headless
  else
    echo "A JDK is needed for the Kotlin tests: sudo apt-get install openjdk-17-jdk-headless" >&2
    exit 2
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to install the Kotlin compiler: sudo apt-get install npm" >&2
  exit 2
fi
npm install --prefix .tools --no-audit --no-fund --silent kotlin-compiler@2.4.20
