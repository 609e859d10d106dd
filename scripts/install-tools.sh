#!/usr/bin/env bash
# Installs what the demos' tests need beside Python, nothing of it downloaded at run time:
#   - a JDK (Debian) and the Kotlin compiler (npm's kotlin-compiler, which ships kotlinc for the JVM)
#     into .tools/, for the app's pure-Kotlin code, and Android's org.json (Debian's libandroid-json-java)
#     for its model.json reading;
#   - Chromium (Debian) for the web demo's browser test, driven by Playwright (a pip dev dependency)
#     with the system browser, never a browser Playwright would download;
#   - LiteRT.js (npm @litertjs/core, wasm files included) into web_demo/node_modules, from its lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
# org.json as Android has it (Android's own rewrite), so the app's ModelContract.kt runs on the JVM.
[ -f /usr/share/java/com.android.json.jar ] || apt_packages+=(libandroid-json-java)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  else
    echo "The demos' tests need: sudo apt-get install ${apt_packages[*]}" >&2
    exit 2
  fi
fi
npm install --prefix .tools --no-audit --no-fund --silent kotlin-compiler@2.4.20
npm ci --prefix web_demo --no-audit --no-fund --silent
