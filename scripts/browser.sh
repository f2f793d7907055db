#!/usr/bin/env bash
# Usage: scripts/browser.sh
#
# Makes sure a headless browser for the System Monitor's dashboard tests is installed and prints its path:
# Debian's `chromium` (installed with apt-get when missing, so it runs as root on a Debian host).
# HEYKEN_BROWSER, when set, names the browser to use instead (it must exist).
# scripts/test.sh calls it and exports HEYKEN_BROWSER and HEYKEN_REQUIRE_BROWSER=true: in CI a missing
# browser fails the dashboard tests, it never skips them.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

no_arguments "$@"

if [[ -n ${HEYKEN_BROWSER:-} ]]; then
  [[ -x $HEYKEN_BROWSER ]] || die "HEYKEN_BROWSER=$HEYKEN_BROWSER is not an executable file."
  echo "$HEYKEN_BROWSER"
  exit 0
fi

find_browser() { command -v chromium || command -v chromium-browser || true; }

browser=$(find_browser)
if [[ -z $browser ]]; then
  command -v apt-get >/dev/null || die "no chromium found and no apt-get to install it: install Chromium and set HEYKEN_BROWSER."
  [[ $(id -u) == 0 ]] || die "chromium is not installed: run as root (apt-get install chromium) or install it yourself."
  info "installing Debian's chromium (apt-get) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends chromium >&2 ||
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends chromium >&2; } ||
    die "apt-get could not install chromium."
  browser=$(find_browser)
fi
[[ -n $browser ]] || die "chromium was installed but is not on the PATH."
"$browser" --version >&2 || die "$browser does not start (see above)."
echo "$browser"
