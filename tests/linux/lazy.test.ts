/** Generated object IDs: random version-4 UUIDs without loading node:crypto. */
import * as assert from 'node:assert/strict';
import { randomUuid } from '../../src/dataplane/linux/lazy';

describe('linux data plane: generated IDs', () => {
  it('are RFC 4122 version 4 UUIDs, all different', () => {
    const ids = Array.from({ length: 200 }, () => randomUuid());
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(ids).size, ids.length);
  });
});
