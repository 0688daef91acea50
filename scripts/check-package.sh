#!/usr/bin/env bash
# The package as an app gets it: `npm pack` (prepack builds dist/), the tarball installed into an
# empty project, then the CLI, an ESM import and a TypeScript import run there. Dependencies come
# from the npm cache that `npm ci` filled (--prefer-offline), so this needs no network beyond the
# npm registry. Run by .ci/run; by hand: `npm run check:package`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/tamga-pack-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$repo"

tgz="$(npm pack --pack-destination "$work" --silent | tail -n 1)"
echo "check-package: packed $tgz ($(du -k "$work/$tgz" | cut -f1) KiB)"
listing="$(tar -tzf "$work/$tgz")"
fail() { echo "check-package: FAILED: $*" >&2; exit 1; }
for f in package/LICENSE package/dist/index.js package/dist/index.d.ts package/dist/cli/main.js package/bin/tamga.js package/fonts/noto-sans/OFL.txt package/fonts/noto-sans-sc/OFL.txt package/fonts/noto-sans-sc/unicode.json; do
  grep -qx "$f" <<<"$listing" || fail "$f is not in the tarball"
done
if grep -qE '^package/(src|test|bench)/' <<<"$listing"; then fail "sources or tests shipped: $(grep -E '^package/(src|test|bench)/' <<<"$listing" | head -3)"; fi

app="$work/app"
mkdir "$app" && cd "$app"
printf '{ "name": "tamga-pack-check", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
types_node="$(node -p "require('$repo/node_modules/@types/node/package.json').version")"
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$work/$tgz" "@types/node@$types_node" >/dev/null
echo "check-package: installed into $app ($(du -sm node_modules | cut -f1) MiB node_modules)"

# The CLI through npx, as the README says; --version --json names the ffmpeg in use.
v="$(npx --no-install tamga --version)"
[ "$v" = "$(node -p "require('$repo/package.json').version")" ] || fail "tamga --version printed '$v'"
npx --no-install tamga --version --json | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!j.version || !j.ffmpeg || !j.ffmpeg.path) { console.error(j); process.exit(1); }'
npx --no-install tamga demo --out "$app/demo" --json > "$app/demo.json" || fail "tamga demo failed: $(head -c 2000 "$app/demo.json")"

# ESM import: label a generated PNG in memory and read the label back.
cat > esm.mjs <<'JS'
import { label, detect, VERSION, TamgaError } from 'tamga';
import { startService } from 'tamga/distributed';
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
const r = await label(png, { provider: 'Example AI LLP' }, { visible: false });
const d = await detect(r.data);
if (!d.findings.some((f) => f.kind === 'xmp:tamga')) throw new Error('no xmp:tamga finding after label');
if (typeof startService !== 'function' || !(new TamgaError('INVALID_OPTION', 'x') instanceof Error)) throw new Error('exports missing');
console.log(`check-package: ESM import of tamga ${VERSION} labelled and detected`);
JS
node esm.mjs

# TypeScript imports, strict: the main entry with every declaration file checked (skipLibCheck off);
# tamga/distributed with skipLibCheck on, since ioredis's own declarations need @types it does not bring.
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] }, "include": ["app.ts"] }
JSON
cat > tsconfig.distributed.json <<'JSON'
{ "extends": "./tsconfig.json", "compilerOptions": { "skipLibCheck": true }, "include": ["distributed.ts"] }
JSON
cat > distributed.ts <<'TS'
import { startService, type ServeOptions } from 'tamga/distributed';
const serve: ServeOptions = { port: 0, token: 'a-long-enough-secret-token' };
export const start = () => startService(serve);
TS
cat > app.ts <<'TS'
import { label, detect, signC2pa, readC2pa, strip, writeDevChain, embedWatermarkFile, isTamgaError, type LabelOptions, type DetectResult } from 'tamga';
const opts: LabelOptions = { policy: 'eu', visible: false };
export async function run(bytes: Uint8Array): Promise<DetectResult> {
  void signC2pa; void readC2pa; void strip; void writeDevChain; void embedWatermarkFile;
  try {
    const r = await label(bytes, { provider: 'Example AI LLP' }, opts);
    return await detect(r.data!);
  } catch (e) {
    if (isTamgaError(e)) console.error(e.code);
    throw e;
  }
}
TS
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.json || fail "TypeScript import of tamga did not type-check"
node "$repo/node_modules/typescript/bin/tsc" -p tsconfig.distributed.json || fail "TypeScript import of tamga/distributed did not type-check"
echo "check-package: TypeScript import type-checks"
echo "check-package: OK"
