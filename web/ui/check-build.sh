#!/bin/sh
# check-build.sh: the committed front end (web/static) must be what the
# sources in web/ui build. Runs npm ci and npm run build, then fails when
# git sees a difference under web/static.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
cd ../..
if [ -n "$(git status --porcelain web/static)" ]; then
	echo "web/static differs from what web/ui builds; run 'npm run build' in web/ui and commit web/static:" >&2
	git status --porcelain web/static >&2
	exit 1
fi
echo "web/static is up to date"
