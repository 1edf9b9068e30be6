#!/bin/sh
# Installs peersite the way users get it, from the packed tarball, and proves it works:
#   1. `npm pack` (its `prepare` builds dist/),
#   2. in an empty folder outside the checkout: `npm install <tarball>` as a dependency, install scripts on,
#   3. `npm install -g <tarball>` into a temporary prefix, and `npx --package <tarball> peersite`,
#   4. inside the private network namespace (scripts/in-netns.sh): `peersite publish --local --json` (the
#      dependency's bin), `peersite get <magnet> --tracker <its local tracker>` (the global bin) and `get
#      site.torrent`; each copy must be byte-identical to the site,
#   5. prints the installed size, and fails if the installed tree has a package with an install script or more
#      than one node-datachannel.
# Installs need the npm registry (and nothing else); the swarm runs with no network at all. npm's `overrides`
# never apply here (npm reads them only from the root project), so this is what a user's install resolves to.
#
#   sh scripts/pack-check.sh            (KEEP=1 keeps the temporary folder and prints its path)
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/peersite-pack-check.XXXXXX")
case "$work" in "$repo"/*) echo "pack-check: the temporary folder must be outside the checkout" >&2; exit 1 ;; esac
cleanup () {
  if [ -n "${pub_pid:-}" ]; then kill "$pub_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = "1" ]; then echo "pack-check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
t0=$(date +%s)
step () { printf '\n--- %s (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }
fail () { echo "pack-check: FAILED: $*" >&2; exit 1; }

# Install scripts on: npm 10 (Node 20's) runs every dependency's; npm 11 skips those not approved in the root's
# allowScripts, so ask it to run them all, as the strictest case. Older npm ignores the unknown setting.
export npm_config_dangerously_allow_all_scripts=true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step "npm pack"
tarball="$work/$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"
echo "tarball: $(basename "$tarball"), $(wc -c < "$tarball" | tr -d ' ') bytes, $(tar tzf "$tarball" | wc -l | tr -d ' ') files"

# From here on an empty npm cache, as on a fresh machine: every package comes from the registry (this machine's
# cache would hide a package that only it still holds).
export npm_config_cache="$work/npm-cache"

step "npm install <tarball> as a dependency (empty project, empty cache, scripts on)"
app="$work/app"
mkdir "$app"
printf '{ "name": "pack-check-app", "version": "1.0.0", "private": true, "type": "module" }\n' > "$app/package.json"
(cd "$app" && npm install "$tarball" > "$work/install.log" 2>&1) || { cat "$work/install.log" >&2; fail "npm install of the tarball"; }
tail -n 3 "$work/install.log"

# The installed tree: no package may run an install script (none is needed: node-datachannel's binary comes in an
# @node-datachannel/* platform package), and there is exactly one node-datachannel.
node - "$app" <<'EOF' || fail "installed tree"
const { readFileSync } = require('node:fs')
const lock = JSON.parse(readFileSync(process.argv[2] + '/node_modules/.package-lock.json', 'utf8'))
const entries = Object.entries(lock.packages)
const scripts = entries.filter(([, p]) => p.hasInstallScript).map(([k, p]) => `${k}@${p.version}`)
const ndc = entries.filter(([k]) => k.endsWith('node_modules/node-datachannel')).map(([k, p]) => `${k}@${p.version}`)
const u8 = entries.filter(([k]) => k.endsWith('node_modules/uint8-util')).map(([, p]) => p.version)
console.log(`${entries.length} packages; node-datachannel: ${ndc.join(', ')}; uint8-util: ${u8.join(', ') || 'none'}`)
if (scripts.length > 0) { console.error(`packages with install scripts: ${scripts.join(', ')}`); process.exit(1) }
if (ndc.length !== 1 || !/@0\.33\./.test(ndc[0])) { console.error('expected exactly one node-datachannel 0.33.x'); process.exit(1) }
EOF
(cd "$app" && node --input-type=module -e "
  const e = await import('peersite/engine'); const n = await import('peersite/engine/node')
  if (typeof e.Torrent !== 'function' || typeof n.FsStore !== 'function') throw new Error('exports')
  console.log('peersite/engine and peersite/engine/node import')") || fail "the package's exports"
pub="$app/node_modules/.bin/peersite"
"$pub" --version > /dev/null || fail "peersite --version (dependency install)"

step "npm install -g <tarball> into a temporary prefix"
prefix="$work/global"
npm install -g --prefix "$prefix" "$tarball" > "$work/install-g.log" 2>&1 || { cat "$work/install-g.log" >&2; fail "npm install -g"; }
tail -n 1 "$work/install-g.log"
getter="$prefix/bin/peersite"
"$getter" --version > /dev/null || fail "peersite --version (global install)"

step "npx --package <tarball> peersite"
# npx installs into npm's cache; `publish --no-seed` contacts nothing.
mkdir "$work/npx-site" && printf '<h1>npx</h1>\n' > "$work/npx-site/index.html"
(cd "$work" && npx --yes --package "$tarball" -- peersite publish "$work/npx-site" --no-seed --json --out "$work/npx-out" > "$work/npx.json" 2> "$work/npx.log") ||
  { cat "$work/npx.log" >&2; fail "npx peersite publish"; }
grep -q '"infoHash"' "$work/npx.json" || fail "npx peersite publish printed no JSON"
echo "npx peersite publish: $(cat "$work/npx.json")"

step "publish --local and get, inside the private network namespace"
site="$work/site"
cp -R "$app/node_modules/peersite/examples/hello" "$site"
# A few MB of incompressible bytes too, so that the copy spans many pieces.
node -e "require('node:fs').writeFileSync(process.argv[1], require('node:crypto').randomBytes(3 * 1024 * 1024 + 12345))" "$site/big.bin"
cat > "$work/swarm.sh" <<'EOF'
set -eu
work=$1 pub=$2 getter=$3 site=$4
"$pub" publish "$site" --local --json --out "$work/out" > "$work/publish.json" 2> "$work/publish.log" &
pub_pid=$!
trap 'kill $pub_pid 2>/dev/null || true' EXIT
i=0
until grep -q '}' "$work/publish.json" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 600 ] || ! kill -0 "$pub_pid" 2>/dev/null; then cat "$work/publish.log" >&2; echo "publish --local printed no JSON" >&2; exit 1; fi
  sleep 0.1
done
magnet=$(node -e "console.log(JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8')).magnetURI)" "$work/publish.json")
tracker=$(node -e "console.log(new URLSearchParams(process.argv[1].slice(process.argv[1].indexOf('?') + 1)).get('tr'))" "$magnet")
case "$tracker" in ws://127.0.0.1:*) ;; *) echo "publish --local announced to $tracker, not a local tracker" >&2; exit 1 ;; esac
echo "magnet: $magnet"
start=$(date +%s%N)
"$getter" get "$magnet" --tracker "$tracker" --out "$work/copy" --timeout 60 --json > "$work/get.json" 2> "$work/get.log" || { cat "$work/get.log" >&2; exit 1; }
echo "get: $(( ($(date +%s%N) - start) / 1000000 )) ms"
diff -r "$site" "$work/copy"
echo "byte-identical: $(find "$work/copy" -type f | wc -l | tr -d ' ') files"
# Once more from the .torrent file (bencode and the metainfo parser, with the uint8-util a user gets).
"$pub" get "$work/out/site.torrent" --tracker "$tracker" --out "$work/copy2" --timeout 60 --json > "$work/get2.json" 2> "$work/get2.log" || { cat "$work/get2.log" >&2; exit 1; }
diff -r "$site" "$work/copy2"
echo "get site.torrent: byte-identical too"
EOF
sh "$repo/scripts/in-netns.sh" sh "$work/swarm.sh" "$work" "$pub" "$getter" "$site" || fail "publish --local + get"

step "installed size"
echo "as a dependency: $(du -sk "$app/node_modules" | cut -f1) KiB in node_modules ($(find "$app/node_modules" -name package.json -path '*/node_modules/*/package.json' | grep -c '/node_modules/\(@[^/]*/\)\?[^/]*/package.json$') packages)"
echo "globally:        $(du -sk "$prefix" | cut -f1) KiB under the prefix"
echo "tarball:         $(wc -c < "$tarball" | tr -d ' ') bytes"
step "pack-check: OK"
