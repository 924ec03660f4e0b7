/**
 * Every JSON example of ../shared/reference/hcn-api.md, copied into tests/fixtures/hcn-examples, goes through
 * the model (parse → stringify) unchanged, and passes validation; a second test makes sure no example of the
 * reference lacks a fixture.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  parseHnsJson,
  stringifyHnsJson,
  normalizeKeys,
  parseNetwork,
  parseEndpoint,
  parseNamespace,
  parseLoadBalancer,
  parseV1Network,
  parseV1Endpoint,
  validateNetwork,
  validateEndpoint,
  validateNamespace,
  validateLoadBalancer,
  validateNetworkModify,
  validateEndpointModify,
  validateNamespaceModify,
  buildQuery,
  errorRecord,
  HRESULT,
  formatIssue,
  type ValidationIssue,
} from '../../../src/hns';

const ROOT = path.resolve(__dirname, '../../../..');
const DIR = path.join(ROOT, 'tests/fixtures/hcn-examples');
const fixtures = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

/** parse → stringify → parse again must give back what the fixture says (HNS's own spelling, uint64 intact). */
function roundTrip(text: string, parse: (t: string) => unknown): unknown {
  return parseHnsJson(stringifyHnsJson(parse(text), 2));
}
const noIssues = (issues: ValidationIssue[]) => assert.deepEqual(issues.map(formatIssue), []);

interface Handler {
  prefix: string;
  check(text: string): void;
}
const HANDLERS: Handler[] = [
  {
    prefix: 'network-',
    check(t) {
      const original = parseHnsJson<Record<string, unknown>>(t);
      // HNS omits Type for NAT networks; the model makes it explicit.
      assert.deepEqual(roundTrip(t, parseNetwork), { ...original, Type: original.Type ?? 'NAT' });
      noIssues(validateNetwork(parseNetwork(t)));
    },
  },
  {
    prefix: 'endpoint-',
    check(t) {
      assert.deepEqual(roundTrip(t, parseEndpoint), parseHnsJson(t));
      noIssues(validateEndpoint(parseEndpoint(t), { create: true }));
    },
  },
  {
    prefix: 'loadbalancer-',
    check(t) {
      assert.deepEqual(roundTrip(t, parseLoadBalancer), parseHnsJson(t));
      noIssues(validateLoadBalancer(parseLoadBalancer(t), { create: true }));
    },
  },
  {
    prefix: 'namespace-',
    check(t) {
      assert.deepEqual(roundTrip(t, parseNamespace), parseHnsJson(t));
      noIssues(validateNamespace(parseNamespace(t)));
    },
  },
  {
    prefix: 'policy-endpoint-',
    check(t) {
      const ep = parseEndpoint({ Policies: [parseHnsJson(t)] });
      assert.deepEqual(parseHnsJson(stringifyHnsJson(ep.Policies![0])), parseHnsJson(t));
      noIssues(validateEndpoint(ep));
    },
  },
  {
    prefix: 'modify-network-',
    check(t) {
      assert.deepEqual(
        roundTrip(t, (x) => normalizeKeys(parseHnsJson(x), 'v2')),
        parseHnsJson(t),
      );
      noIssues(validateNetworkModify(normalizeKeys(parseHnsJson(t), 'v2')));
    },
  },
  {
    prefix: 'modify-endpoint-',
    check(t) {
      assert.deepEqual(
        roundTrip(t, (x) => normalizeKeys(parseHnsJson(x), 'v2')),
        parseHnsJson(t),
      );
      noIssues(validateEndpointModify(normalizeKeys(parseHnsJson(t), 'v2')));
    },
  },
  {
    prefix: 'modify-namespace-',
    check(t) {
      assert.deepEqual(
        roundTrip(t, (x) => normalizeKeys(parseHnsJson(x), 'v2')),
        parseHnsJson(t),
      );
      noIssues(validateNamespaceModify(normalizeKeys(parseHnsJson(t), 'v2')));
    },
  },
  {
    prefix: 'query-',
    check(t) {
      const q = parseHnsJson<{ Filter: string }>(t);
      assert.deepEqual(buildQuery(JSON.parse(q.Filter)), q);
    },
  },
  {
    prefix: 'error-record',
    check(t) {
      const rec = parseHnsJson<{ ErrorCode: number }>(t);
      assert.equal(rec.ErrorCode, HRESULT.HCN_E_ADDR_INVALID_OR_RESERVED);
      assert.deepEqual(errorRecord(rec.ErrorCode), rec);
    },
  },
  {
    prefix: 'v1-network-',
    check(t) {
      assert.deepEqual(roundTrip(t, parseV1Network), parseHnsJson(t));
    },
  },
  {
    prefix: 'v1-endpoint-',
    check(t) {
      assert.deepEqual(roundTrip(t, parseV1Endpoint), parseHnsJson(t));
    },
  },
  {
    prefix: 'v1-policylist-',
    check(t) {
      assert.deepEqual(
        roundTrip(t, (x) => normalizeKeys(parseHnsJson(x), 'v1')),
        parseHnsJson(t),
      );
    },
  },
];

describe('hns: reference examples round-trip through the model', () => {
  it('has fixtures', () => assert.ok(fixtures.length >= 18, `only ${fixtures.length} fixtures in ${DIR}`));
  for (const f of fixtures) {
    it(f, () => {
      const h = HANDLERS.find((x) => f.startsWith(x.prefix));
      assert.ok(h, `${f}: no handler for this file name; name fixtures ${HANDLERS.map((x) => x.prefix + '*').join(', ')}`);
      h.check(read(f));
    });
  }
  it('keeps uint64 values exactly (Health.LastUpdateTime = 2^64-1)', () => {
    const text = read('network-nat-queried.json');
    const net = parseNetwork(text);
    assert.equal(net.Health?.LastUpdateTime, 18446744073709551615n);
    assert.match(stringifyHnsJson(net), /"LastUpdateTime":18446744073709551615\b/);
  });
});

// ---- the reference's examples all have a fixture ------------------------------------------------------

function findReference(): string | undefined {
  const candidates = [
    process.env.SWITCHYARD_HCN_REFERENCE,
    path.join(ROOT, '../shared/reference/hcn-api.md'),
    path.join(ROOT, '../../shared/reference/hcn-api.md'), // git worktrees one level deeper
  ];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** The reference writes `{ … }` for "some settings" and sometimes shows a bare `"Key": value` fragment. */
function blockToPattern(block: string): unknown {
  let t = block.replace(/\{\s*…\s*\}/g, '{}').trim();
  if (t.startsWith('"')) t = `{${t}}`;
  return JSON.parse(t);
}

/** Does `actual` (a fixture) match the reference `pattern`, where `<...>` and `A|B` strings are placeholders? */
function contains(pattern: unknown, actual: unknown): boolean {
  if (typeof pattern === 'string') {
    if (typeof actual !== 'string') return false;
    if (/<[^>]+>/.test(pattern)) {
      const re = pattern
        .split(/<[^>]+>/)
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.+');
      return new RegExp(`^${re}$`).test(actual);
    }
    if (/^\w+(\|\w+)+$/.test(pattern)) return pattern.split('|').includes(actual);
    return pattern === actual;
  }
  if (Array.isArray(pattern)) {
    return Array.isArray(actual) && actual.length === pattern.length && pattern.every((p, i) => contains(p, actual[i]));
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(pattern).every(([k, v]) => k in actual && contains(v, (actual as Record<string, unknown>)[k]));
  }
  return pattern === actual;
}

describe('hns: every ```json example of hcn-api.md has a fixture', () => {
  it('matches each reference block to a fixture (or checks the fixture set when the reference is absent)', () => {
    const ref = findReference();
    if (!ref) {
      // Outside the project's workspace the reference is not there; the fixture set itself is still checked above.
      assert.ok(fixtures.length >= 18);
      return;
    }
    const md = fs.readFileSync(ref, 'utf8');
    const blocks = [...md.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.length > 0, `no json blocks found in ${ref}`);
    const parsed = fixtures.map((f) => parseHnsJson(read(f)));
    const missing = blocks.filter((b) => !parsed.some((fx) => contains(blockToPattern(b), fx)));
    assert.deepEqual(missing, [], `examples in ${ref} without a fixture in ${DIR}`);
  });
});
