/** HRESULT classification: every class, the codes docs/hcn-model.md lists for it, and v1 text. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  classifyHresult,
  HnsError,
  isNotFound,
  isAlreadyExists,
  isAlreadyAttached,
  isPortInUse,
  hresultName,
  formatHresult,
  win32FromHresult,
  errorRecord,
  type HnsErrorClass,
} from '../../../src/hns';

const TABLE: Record<HnsErrorClass, number[]> = {
  'not-found': [0x80070490, 0x803b0001, 0x803b0002, 0x803b0007, 0x803b0008],
  'already-exists': [0x803b0010, 0x803b0011, 0x803b0012, 0x803b002b, 0x80071392, 0x800700b7, 0x80070034],
  'already-attached': [0x803b0014],
  'port-in-use': [0x803b0013],
  'invalid-json': [0x803b001b, 0x803b001c],
  'bad-input': [0x80070057, 0x803b000a, 0x803b000b, 0x803b000c, 0x803b000d, 0x803b000e, 0x803b001e, 0x803b002f, 0x803b0019, 0x803b002d],
  'in-use': [0x803b002c],
  unsupported: [0x80004001, 0x803b0015, 0x803b0016],
  timeout: [0x800705b4],
  unavailable: [0x803b0020],
  failure: [0x80004005, 0x803b0017, 0x803b001a, 0x8000ffff],
};

describe('hns: HRESULT classification', () => {
  for (const [cls, codes] of Object.entries(TABLE)) {
    it(`${cls}: ${codes.map(formatHresult).join(' ')}`, () => {
      for (const hr of codes) {
        assert.equal(classifyHresult(hr), cls, formatHresult(hr));
        // Signed int32 as the ABI returns it classifies the same.
        assert.equal(classifyHresult(hr | 0), cls);
        assert.equal(new HnsError(hr, 'x').kind, cls);
      }
    });
  }

  it('predicates follow the class', () => {
    assert.ok(isNotFound(HnsError.of('HCN_E_ENDPOINT_NOT_FOUND')));
    assert.ok(isAlreadyExists(HnsError.of('HCN_E_NETWORK_ALREADY_EXISTS')));
    assert.ok(isAlreadyAttached(HnsError.of('HCN_E_ENDPOINT_ALREADY_ATTACHED')));
    assert.ok(isPortInUse(HnsError.of('HCN_E_PORT_ALREADY_EXISTS')));
    assert.ok(!isNotFound(new Error('Element not found.')));
  });

  it('classifies v1 {Success:false} text: "Element not found." and "does not represent a valid object" mean absent', () => {
    assert.ok(isNotFound(HnsError.fromV1Text('Element not found.')));
    assert.ok(isNotFound(HnsError.fromV1Text('The object identifier does not represent a valid object.')));
    const other = HnsError.fromV1Text('An adapter was not found.');
    assert.equal(other.kind, 'failure');
    assert.match(other.message, /^hns failed with error : An adapter was not found\./);
  });

  it('carries call, subject and the HRESULT in the message', () => {
    const e = HnsError.of('HCN_E_ADDR_INVALID_OR_RESERVED', { call: 'HcnCreateEndpoint', subject: 'endpoint pod1' });
    assert.equal(e.message, 'HcnCreateEndpoint endpoint pod1: An address provided is invalid or reserved. (0x803b002f)');
    assert.deepEqual(e.toErrorRecord(), { Success: false, Error: 'An address provided is invalid or reserved. ', ErrorCode: 2151350319 });
    assert.deepEqual(errorRecord(0x803b002f), e.toErrorRecord());
  });

  it('names codes and masks FACILITY_WIN32 like hcsshim', () => {
    assert.equal(hresultName(0x803b0013), 'HCN_E_PORT_ALREADY_EXISTS');
    assert.equal(hresultName(0x80070490 | 0), 'ERROR_NOT_FOUND');
    assert.equal(win32FromHresult(0x80070490), 1168);
    assert.equal(win32FromHresult(0x803b0013), 0x803b0013);
  });

  it('names E_FAIL, and no source outside the HRESULT table spells an HRESULT as a bare number', () => {
    assert.equal(hresultName(0x80004005), 'E_FAIL');
    assert.equal(classifyHresult(0x80004005), 'failure');
    const root = path.resolve(__dirname, '../../../..');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && path.relative(root, p) !== path.join('src', 'hns', 'errors.ts')) {
          fs.readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
              if (/\b0x(800[0-7]|803[bB])[0-9a-fA-F]{4}\b/.test(code)) offenders.push(`${path.relative(root, p)}:${i + 1}`);
            });
        }
      }
    };
    walk(path.join(root, 'src'));
    assert.deepEqual(offenders, [], 'use HRESULT.<name> from src/hns/errors.ts');
  });
});
