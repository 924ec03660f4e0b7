/**
 * The pure folders (the HCN model, the network primitives, the reconciler, the CNI protocol, the service proxy's
 * core, the lab spec) import no Node OS module, no FFI/PowerShell binding and no data plane — directly or
 * through another project file they import. Only src/dataplane (and src/util/file-lock.ts) may touch the OS.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
/** Pure folders and files. One not written yet is reported as pending (skipped, named), never passed. */
const PURE_PATHS = ['src/hns', 'src/net', 'src/reconcile', 'src/cni/protocol', 'src/proxy/core', 'src/lab/spec.ts'];
const OS_MODULES = new Set([
  'fs',
  'child_process',
  'net',
  'os',
  'dgram',
  'worker_threads',
  'cluster',
  'http',
  'https',
  'tls',
  'http2',
  'inspector',
  'v8',
  'vm',
  'readline',
]);
const BINDINGS = new Set(['koffi', 'node-powershell']);

/** Every module specifier in a TypeScript/JavaScript source: import/export from, bare import, require(), import(). */
export function importsOf(source: string): string[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** Specifiers imported only for types (`import type ... from`): erased by the compiler, no code is loaded. */
export function typeOnlyImports(source: string): Set<string> {
  return new Set([...source.matchAll(/\bimport\s+type\s+[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1]));
}

/** The one data-plane module a pure module may name: the interface, and only in type-only imports. */
const INTERFACE = 'src/dataplane/types';

/** Why `spec` (imported from `file`) is forbidden in a pure module, or undefined. */
export function forbidden(spec: string, file: string, typeOnly = false): string | undefined {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  const base = bare.split('/')[0];
  if (!spec.startsWith('.') && OS_MODULES.has(base)) return `Node OS module "${spec}"`;
  if (BINDINGS.has(base)) return `native binding "${spec}"`;
  if (spec.startsWith('.')) {
    const target = path
      .relative(ROOT, path.resolve(path.dirname(file), spec))
      .split(path.sep)
      .join('/');
    if (typeOnly && target === INTERFACE) return undefined;
    if (target === 'src/dataplane' || target.startsWith('src/dataplane/')) return `data plane "${spec}"`;
  }
  return undefined;
}

function resolveTs(from: string, spec: string): string | undefined {
  const p = path.resolve(path.dirname(from), spec);
  return [p + '.ts', path.join(p, 'index.ts'), p].find((c) => c.endsWith('.ts') && fs.existsSync(c));
}

function listTs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  if (fs.statSync(dir).isFile()) return dir.endsWith('.ts') ? [dir] : [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listTs(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('boundaries: pure folders import no OS module and no data plane', () => {
  it('the scanner finds every import form', () => {
    const src =
      `import * as fs from 'node:fs';\nimport type { X } from "../dataplane/types";\nexport { y } from './y';\n` +
      `import 'os';\nconst k = require('koffi');\nconst p = await import('node-powershell');\n// import 'net' in a comment\n`;
    assert.deepEqual(importsOf(src).sort(), ['../dataplane/types', './y', 'koffi', 'node-powershell', 'node:fs', 'os'].sort());
    const f = path.join(ROOT, 'src/hns/x.ts');
    assert.ok(forbidden('node:fs', f) && forbidden('fs/promises', f) && forbidden('child_process', f) && forbidden('koffi', f));
    assert.ok(forbidden('../dataplane/types', f) && forbidden('../dataplane', f));
    // The host network service interface may be named for its types; a data plane may not, even so.
    assert.equal(forbidden('../dataplane/types', f, true), undefined);
    assert.ok(forbidden('../dataplane/linux', f, true));
    assert.deepEqual([...typeOnlyImports(src)], ['../dataplane/types']);
    assert.equal(forbidden('ipaddr.js', f), undefined);
    assert.equal(forbidden('./json', f), undefined);
  });

  /** Offending imports reachable from `roots`, following project imports. */
  function offendersFrom(roots: string[]): string[] {
    const offenders: string[] = [];
    const seen = new Set<string>();
    const queue = roots.map((f) => ({ file: f, via: [] as string[] }));
    while (queue.length > 0) {
      const { file, via } = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const rel = path.relative(ROOT, file);
      const text = fs.readFileSync(file, 'utf8');
      const typeOnly = typeOnlyImports(text);
      for (const spec of importsOf(text)) {
        const why = forbidden(spec, file, typeOnly.has(spec));
        if (why) offenders.push(`${[...via, rel].join(' → ')} imports ${why}`);
        else if (spec.startsWith('.')) {
          const next = resolveTs(file, spec);
          if (next) queue.push({ file: next, via: [...via, rel] });
        }
      }
    }
    return offenders;
  }

  it('follows imports: a pure file importing a file that imports node:fs is caught', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-boundaries-'));
    try {
      fs.writeFileSync(path.join(tmp, 'a.ts'), "import { b } from './b';\n");
      fs.writeFileSync(path.join(tmp, 'b.ts'), "import * as fs from 'node:fs';\nexport const b = fs;\n");
      const found = offendersFrom([path.join(tmp, 'a.ts')]);
      assert.equal(found.length, 1);
      assert.match(found[0], /a\.ts → .*b\.ts imports Node OS module "node:fs"/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  for (const pure of PURE_PATHS) {
    it(`${pure} imports no OS module, binding or data plane (following project imports)`, function () {
      const full = path.join(ROOT, pure);
      if (!fs.existsSync(full)) {
        this.test!.title += ` — skipped: ${pure} does not exist yet`;
        this.skip();
      }
      const roots = listTs(full);
      assert.ok(roots.length > 0, `${pure} exists but has no TypeScript source to scan`);
      assert.deepEqual(offendersFrom(roots), []);
    });
  }
});
