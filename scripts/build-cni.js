#!/usr/bin/env node
// Bundles each CNI entrypoint (src/cni/bin/*.ts) into one CommonJS file dist/cni/bin/<name> with a node
// shebang, so a container runtime can execute it from its CNI bin directory. koffi and node-powershell stay
// external (native/optional; winston loads only when logging is configured); data planes are bundled but only required when chosen (dataplane/factory.ts).
// A data-plane module that is not in this tree yet becomes a stub that explains itself when selected.
'use strict';
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const srcDir = path.join(root, 'src/cni/bin');
const outDir = path.join(root, 'dist/cni/bin');

const missingDataplane = {
  name: 'missing-dataplane',
  setup(build) {
    build.onResolve({ filter: /^\.\/(memory|linux|windows\/hcn|windows\/hnsv1|windows\/powershell)$/ }, (args) => {
      const base = path.join(args.resolveDir, args.path);
      const exists = ['.ts', '/index.ts'].some((ext) => fs.existsSync(base + ext));
      if (exists) return undefined;
      return { path: args.path, namespace: 'missing-dataplane' };
    });
    build.onLoad({ filter: /.*/, namespace: 'missing-dataplane' }, (args) => ({
      contents: `exports.open = async () => { throw new Error(${JSON.stringify(`data plane module ${args.path} is not part of this build`)}); };`,
      loader: 'js',
    }));
  },
};

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const entries = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts'));
  for (const file of entries) {
    const name = file.replace(/\.ts$/, '');
    const outfile = path.join(outDir, name);
    await esbuild.build({
      entryPoints: [path.join(srcDir, file)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      keepNames: true,
      legalComments: 'none',
      external: ['koffi', 'node-powershell', 'winston'],
      plugins: [missingDataplane],
      logLevel: 'warning',
    });
    // esbuild keeps the entry's own shebang; make sure there is exactly one.
    let text = fs.readFileSync(outfile, 'utf8');
    if (!text.startsWith('#!')) text = '#!/usr/bin/env node\n' + text;
    fs.writeFileSync(outfile, text);
    fs.chmodSync(outfile, 0o755);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
