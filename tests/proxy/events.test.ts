/**
 * Findings as Kubernetes events (src/proxy/events.ts) through the real events.k8s.io/v1 client against the
 * fake API server, which validates new events as the real server does: the stored event names the Service
 * (with its UID, which `kubectl describe service` selects on), the reason and the message; long messages are
 * cut to the 1 KB the API allows; the rate limit drops and counts; a refused post is logged, never thrown.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { FakeApiServer, writeKubeconfig } from '../fixtures/fake-apiserver';
import { FindingEvents, REPORTING_CONTROLLER } from '../../src/proxy/events';
import type { ProxyFinding } from '../../src/proxy/core';

const finding = (over: Partial<ProxyFinding> = {}): ProxyFinding => ({
  service: 'default/web',
  reason: 'EtpLocalWithoutDsr',
  severity: 'degraded',
  message: 'externalTrafficPolicy Local: this HNS has no DSR support',
  ...over,
});

describe('proxy findings as Kubernetes events', function () {
  this.timeout(20_000);
  let api: FakeApiServer;
  let kc: KubeConfig;
  let dir: string;

  before(async () => {
    api = new FakeApiServer();
    await api.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-events-'));
    kc = new KubeConfig();
    kc.loadFromFile(writeKubeconfig(path.join(dir, 'kubeconfig'), api.url));
  });
  after(async () => {
    await api?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const events = () => api.objects('events', undefined, 'events.k8s.io');

  it('posts an events.k8s.io/v1 Warning about the Service, with its UID, reason and message', async () => {
    const before = events().length;
    const rec = new FindingEvents(kc, {
      nodeName: 'win-node-1',
      serviceUid: (ns, n) => (ns === 'default' && n === 'web' ? 'uid-web' : undefined),
    });
    rec.record(finding());
    await rec.flush();
    assert.deepEqual(rec.counts, { posted: 1, failed: 0, dropped: 0 });
    const all = events();
    assert.equal(all.length, before + 1);
    const e = all[all.length - 1];
    assert.equal(e.metadata.namespace, 'default');
    assert.match(e.metadata.name, /^web\.[0-9a-f]+$/);
    assert.equal(e.reason, 'EtpLocalWithoutDsr');
    assert.equal(e.type, 'Warning');
    assert.equal(e.note, 'externalTrafficPolicy Local: this HNS has no DSR support');
    assert.equal(e.reportingController, REPORTING_CONTROLLER);
    assert.equal(e.reportingInstance, `${REPORTING_CONTROLLER}-win-node-1`);
    assert.deepEqual(e.regarding, { apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'web', uid: 'uid-web' });
    assert.deepEqual(e.related, { apiVersion: 'v1', kind: 'Node', name: 'win-node-1' });
    // MicroTime: RFC 3339 with six fractional digits, as the API server parses it.
    assert.match(e.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('cuts a message to the 1 KB an event note may hold', async () => {
    const rec = new FindingEvents(kc, { nodeName: 'n' });
    rec.record(finding({ service: 'apps/long', message: 'é'.repeat(2000) }));
    await rec.flush();
    assert.equal(rec.counts.posted, 1);
    const e = events().find((x) => x.regarding?.name === 'long');
    assert.ok(e);
    assert.ok(Buffer.byteLength(e.note) <= 1024);
    assert.match(e.note, /^é+\.\.\.$/);
  });

  it('the rate limit drops events beyond the burst and counts them; tokens come back with time', async () => {
    let now = 1_000_000;
    const rec = new FindingEvents(kc, { nodeName: 'n', burst: 2, refillMs: 1000, now: () => now });
    for (let i = 0; i < 5; i++) rec.record(finding({ service: `rl/s${i}` }));
    await rec.flush();
    assert.deepEqual(rec.counts, { posted: 2, failed: 0, dropped: 3 });
    now += 1000;
    rec.record(finding({ service: 'rl/s9' }));
    await rec.flush();
    assert.equal(rec.counts.posted, 3);
    assert.deepEqual(
      api
        .objects('events', 'rl', 'events.k8s.io')
        .map((e) => e.regarding.name)
        .sort(),
      ['s0', 's1', 's9'],
    );
  });

  it('a refused post is logged and counted, never thrown', async () => {
    const lines: string[] = [];
    const rec = new FindingEvents(kc, { nodeName: 'n', log: (_l, m) => lines.push(m) });
    api.failNext(1, 503);
    rec.record(finding({ service: 'default/down' }));
    await rec.flush();
    assert.deepEqual(rec.counts, { posted: 0, failed: 1, dropped: 0 });
    assert.match(lines.join('\n'), /event for service default\/down \(EtpLocalWithoutDsr\) was not recorded/);
  });

  it('the fake API server refuses an event the real one refuses (missing reportingController, wrong type, foreign namespace)', () => {
    const ok = {
      metadata: { name: 'x.1', namespace: 'default' },
      eventTime: '2026-11-30T00:00:00.000000Z',
      reportingController: 'c',
      reportingInstance: 'c-n',
      action: 'A',
      reason: 'R',
      type: 'Normal',
      regarding: { kind: 'Service', namespace: 'default', name: 'x' },
    };
    const refused = (patch: Record<string, unknown>) =>
      assert.throws(() => api.create('events', { ...ok, ...patch }, 'events.k8s.io'), /is invalid/);
    refused({ reportingController: '' });
    refused({ type: 'Error' });
    refused({ regarding: { kind: 'Service', namespace: 'other', name: 'x' } });
    refused({ eventTime: undefined });
    api.create('events', ok, 'events.k8s.io');
  });
});
