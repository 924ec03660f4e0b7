/** Assertions on HnsError rejections, shared by the memory, conformance, abi and powershell tests. */
import * as assert from 'node:assert/strict';
import { HRESULT, HnsError, isHnsError, type HnsErrorClass, type HresultName } from '../../src/hns';

/** Asserts that `p` rejects with an HnsError carrying exactly this HRESULT (and class and message, when given). */
export async function rejectsWith(p: Promise<unknown>, name: HresultName, kind?: HnsErrorClass, message?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isHnsError(e), `expected an HnsError, got ${String(e)}`);
    assert.equal(e.hresult, HRESULT[name], `expected ${name}, got ${e.message}`);
    if (kind) assert.equal(e.kind, kind);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${name}, but the call succeeded`);
}

/** Asserts `p` rejects with an HnsError of the given class (any HRESULT of it), and returns it. */
export async function rejectsKind(p: Promise<unknown>, kind: HnsErrorClass): Promise<HnsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof HnsError, `expected an HnsError, got ${String(e)}`);
    assert.equal(e.kind, kind, `expected kind ${kind}, got ${e.kind}: ${e.message}`);
    assert.ok(Number.isInteger(e.hresult) && e.hresult >= 0x80000000, `HRESULT kept as unsigned failure code (${e.hresult})`);
    return e;
  }
  assert.fail(`expected an HnsError of kind ${kind}, but the call succeeded`);
}
