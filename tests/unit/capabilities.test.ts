/**
 * Callers ask a data plane's capabilities, never its kind: a grep of src/ outside src/dataplane for a
 * comparison of a data plane's `kind` finds nothing. And each data plane states its capabilities.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataplane } from '../../src/dataplane/factory';
import { LINUX_CAPABILITIES } from '../../src/dataplane/linux/capabilities';
import { EMULATOR_CAPABILITIES, WINDOWS_CAPABILITIES } from '../../src/dataplane/capabilities';

const ROOT = path.resolve(__dirname, '../../..');

function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listTs(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** `<x>.kind === '<data plane>'` / `!==`, with the data plane names; other `kind` fields (CLI resources, error classes) are not data planes. */
const KIND_TEST =
  /\.kind\s*[!=]==\s*['"](memory|linux|hcn|hns-v1|powershell)['"]|['"](memory|linux|hcn|hns-v1|powershell)['"]\s*[!=]==\s*\w+\.kind\b/;

export function kindTests(files: string[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (KIND_TEST.test(l)) hits.push(`${path.relative(ROOT, f)}:${i + 1}: ${l.trim()}`);
    });
  }
  return hits;
}

describe('capabilities: callers never test a data plane kind', () => {
  it('the pattern catches both spellings', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-caps-'));
    try {
      const f = path.join(tmp, 'x.ts');
      fs.writeFileSync(f, `if (s.kind === 'linux') x();\nif ('hcn' !== svc.kind) y();\nif (p.kind === 'Network') z();\n`);
      assert.equal(kindTests([f]).length, 2);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('no file of src/ outside src/dataplane compares a data plane kind', () => {
    const files = listTs(path.join(ROOT, 'src')).filter((f) => !path.relative(ROOT, f).startsWith(`src${path.sep}dataplane${path.sep}`));
    assert.ok(files.length > 50, 'the scan sees the source tree');
    assert.deepEqual(kindTests(files), []);
  });
});

describe('capabilities: each data plane states them', () => {
  it('the emulator answers as Windows HNS, without packets', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-caps-'));
    try {
      const s = await openDataplane({ kind: 'memory', statePath: path.join(tmp, 'state.json'), env: {} });
      assert.deepEqual(s.capabilities, EMULATOR_CAPABILITIES);
      assert.equal(s.capabilities.namespaceId, 'guid');
      assert.equal(s.capabilities.hnsV1, true);
      assert.ok(s.v1, 'the emulator has the v1 surface');
      await s.close();
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the Windows planes and linux differ where callers branch', () => {
    assert.equal(WINDOWS_CAPABILITIES.namespaceId, 'guid');
    assert.equal(LINUX_CAPABILITIES.namespaceId, 'netns-path');
    assert.equal(LINUX_CAPABILITIES.hnsV1, false);
    assert.deepEqual([...LINUX_CAPABILITIES.addressFamilies], ['IPv4']);
    assert.equal(LINUX_CAPABILITIES.externalPlaceholderNetwork, false);
    assert.equal(WINDOWS_CAPABILITIES.externalPlaceholderNetwork, true);
    assert.ok(LINUX_CAPABILITIES.hostEndpoints && WINDOWS_CAPABILITIES.hostEndpoints);
    assert.ok(LINUX_CAPABILITIES.policies.endpoint.includes('OutBoundNAT'));
    assert.ok(!LINUX_CAPABILITIES.policies.network.includes('SetPolicy'));
  });
});
