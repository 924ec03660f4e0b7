/**
 * The stub library through the same koffi declarations the hcn data plane uses, below the data plane:
 * handle validation, NULL out-pointers, the Filter-is-a-string rule, HNSCall envelopes, and that every
 * string handed out is accounted for. These pin the stub's HNS-like behaviour the other abi tests rely on.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { familyFns } from '../../src/dataplane/windows/hcn/bindings';
import { hcnLibrary, invoke, koffi, takeString, type Pointer } from '../../src/dataplane/windows/native';
import { resolveOptions } from '../../src/dataplane/factory';
import { HRESULT, HnsError } from '../../src/hns';
import { ZERO_GUID } from '../../src/dataplane/windows/guid';
import { STUB_LIBRARY, assertNoLeaks, stub, withEnv } from './stub';
import { open as openHcn } from '../../src/dataplane/windows/hcn';

const E_HANDLE = 0x80070006;
const lib = () => hcnLibrary(resolveOptions({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {} }));
const u = (hr: unknown) => Number(hr) >>> 0;

describe('stub library: raw ABI', function () {
  beforeEach(() => stub().reset());
  afterEach(assertNoLeaks);

  it('creates with an out handle, rejects a handle of the wrong kind and a double close', function () {
    const L = lib();
    const net = familyFns(L, 'Network');
    const ep = familyFns(L, 'Endpoint');
    const h: [Pointer] = [null];
    const rec: [Pointer] = [null];
    assert.equal(u(net.create()(ZERO_GUID, '{"Name":"raw","Type":"NAT"}', h, rec)), 0);
    assert.equal(rec[0], null, 'no error record on success');
    assert.equal(typeof h[0], 'bigint');

    const props: [Pointer] = [null];
    const rec2: [Pointer] = [null];
    assert.equal(u(ep.query()(h[0], '', props, rec2)), E_HANDLE, 'a network handle is not an endpoint handle');
    assert.equal(props[0], null);
    const record = JSON.parse(takeString(L, rec2[0])!) as { Success: boolean; Error: string; ErrorCode: number };
    assert.deepEqual([record.Success, record.ErrorCode], [false, E_HANDLE]);
    assert.match(record.Error, /not an open endpoint handle $/);

    assert.equal(u(net.close()(h[0])), 0);
    assert.equal(u(net.close()(h[0])), E_HANDLE, 'closing twice is refused, not a crash');
  });

  it('accepts NULL for the optional error record', function () {
    const net = familyFns(lib(), 'Network');
    const h: [Pointer] = [null];
    assert.equal(u(net.open()({ Data1: 1, Data2: 2, Data3: 3, Data4: [4, 5, 6, 7, 8, 9, 10, 11] }, h, null)), HRESULT.ERROR_NOT_FOUND);
    assert.equal(h[0], null);
  });

  it('requires Filter to be a string holding JSON (hcn-api.md §9.7)', function () {
    const L = lib();
    const net = familyFns(L, 'Network');
    const out: [Pointer] = [null];
    const rec: [Pointer] = [null];
    const hr = net.enumerate()('{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":{"Name":"x"}}', out, rec);
    assert.equal(u(hr), HRESULT.HCN_E_INVALID_JSON);
    assert.match(takeString(L, rec[0])!, /Filter must be a string containing a JSON object/);
    assert.equal(u(net.enumerate()('{"SchemaVersion":{"Major":2,"Minor":0},"Flags":0,"Filter":"{\\"Name\\":\\"x\\"}"}', out, rec)), 0);
    assert.equal(takeString(L, out[0]), '[]');
  });

  it('returns HNSCall envelopes as CoTaskMem strings in both failure styles', function () {
    const L = lib();
    const call = L.fn(
      'HNSCall',
      'int32_t %CC%HNSCall(const char16_t *Method, const char16_t *Path, const char16_t *Request, _Out_ void **Response)',
    );
    const resp: [Pointer] = [null];
    assert.equal(u(call('GET', '/globals/version', '', resp)), 0);
    assert.deepEqual(JSON.parse(takeString(L, resp[0])!), { Output: { Major: 15, Minor: 4 }, Success: true });
    assert.equal(u(call('GET', '/networks/6D1B2D0C-0000-4000-8000-000000000000', '', resp)), 0);
    // hcsshim's hnsResponse: Success and Error only (the caller classifies by HNS's text).
    assert.deepEqual(JSON.parse(takeString(L, resp[0])!), { Success: false, Error: 'Element not found.' });
    assert.equal(u(call('POST', '/networks/', '{"Name":', resp)), HRESULT.HCN_E_INVALID_JSON);
    assert.equal(resp[0], null, 'no response with a failed HRESULT');
  });

  it('turns a call koffi refuses to marshal into an HnsError naming the function', async function () {
    const L = lib();
    const e = await invoke(L, familyFns(L, 'Network').open(), {
      name: 'HcnOpenNetwork',
      subject: 'network x',
      args: ['not a GUID struct', [null], [null]],
      timeoutMs: 1000,
    }).then(
      () => assert.fail('should not succeed'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof HnsError, String(e));
    assert.match(e.message, /^HcnOpenNetwork network x: HcnOpenNetwork could not be called: /);
  });

  it('counts a free of a pointer it never handed out instead of corrupting the heap', function () {
    const L = lib();
    const buf = koffi().alloc('uint16_t', 4);
    L.free(buf);
    assert.equal(stub().badFrees(), 1);
    koffi().free(buf);
    stub().reset();
  });

  it('is clean under AddressSanitizer and UndefinedBehaviorSanitizer when driven from 4 threads (make -C native check)', function () {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HCNSTUB_')));
    const r = spawnSync('make', ['-s', '-C', path.resolve(__dirname, '../../../native'), 'check'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /stub check: 4 threads x 50 rounds clean/);
  });

  it('keeps state across processes with HCNSTUB_STATE_FILE (create in one, see and delete in another)', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-stubstate-'));
    const file = path.join(dir, 'hns.state');
    const undo = withEnv({ HCNSTUB_STATE_FILE: file });
    try {
      const hns = await openHcn(resolveOptions({ kind: 'hcn', hcnLibrary: STUB_LIBRARY, statePath: '/nonexistent', env: {} }));
      const net = await hns.createNetwork({ Name: 'shared-réseau', Type: 'L2Bridge' });
      const child = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'other-process.js'), ...args], {
          encoding: 'utf8',
          env: { ...process.env },
        });
      const seen = child('shared-réseau');
      assert.equal(seen.status, 0, seen.stderr);
      assert.deepEqual(JSON.parse(seen.stdout), [{ ID: net.ID, Name: 'shared-réseau' }]);
      assert.deepEqual(await hns.listNetworks(), [], 'deleted by the other process');
      assert.deepEqual(JSON.parse(child().stdout), []);
      await hns.close();
    } finally {
      undo();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
