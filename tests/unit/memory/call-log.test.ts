import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { callLogSize, countCalls, countCallsDuring, readCallLog, summarizeCalls, withCallLog } from '../../../src/dataplane/call-log';
import { openDataplane } from '../../../src/dataplane/factory';
import { HRESULT } from '../../../src/hns';
import { l2bridge, rejectsWith, tempState, type TempState } from './helpers';

const WORKER = path.join(__dirname, 'fixtures', 'worker.js');

describe('call log', function () {
  this.timeout(60_000);
  let t: TempState;
  let log: string;
  beforeEach(() => {
    t = tempState();
    log = path.join(t.dir, 'calls.jsonl');
  });
  afterEach(() => t.cleanup());

  it('records one line per v2 call with op, id, body, outcome and HRESULT', async () => {
    const hns = withCallLog(t.open(), log);
    const net = await hns.createNetwork(l2bridge());
    const ep = await hns.createEndpoint(net.ID!, { Name: 'pod' });
    const ns = await hns.createNamespace({});
    await hns.attachEndpoint(ns.ID!, ep.ID!);
    await rejectsWith(hns.attachEndpoint(ns.ID!, ep.ID!), 'HCN_E_ENDPOINT_ALREADY_ATTACHED');
    await hns.close();
    const recs = readCallLog(log);
    assert.deepEqual(
      recs.map((r) => r.op),
      ['createNetwork', 'createEndpoint', 'createNamespace', 'attachEndpoint', 'attachEndpoint'],
    );
    assert.equal(recs[0].id, net.ID, 'a create records the ID HNS assigned');
    assert.equal(recs[1].id, net.ID, 'createEndpoint records the network handle it was called with');
    assert.deepEqual(recs[3].body, { EndpointId: ep.ID });
    assert.equal(recs[4].ok, false);
    assert.equal(recs[4].hresult, HRESULT.HCN_E_ENDPOINT_ALREADY_ATTACHED);
    assert.ok(recs.every((r) => r.api === 'v2' && r.pid === process.pid && r.ms >= 0));
    assert.equal(countCalls(recs, { op: 'attachEndpoint', ok: true }), 1);
    assert.equal(countCalls(recs, { op: /^create/ }), 3);
  });

  it('counts one v1 HNSCall as one call, whatever it costs inside', async () => {
    const hns = withCallLog(t.open(), log);
    const { records } = await countCallsDuring(log, async () => {
      await hns.v1!.call('POST', '/networks/', {
        Name: 'cbr0',
        Type: 'L2Bridge',
        Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
      });
      await hns.v1!.call('GET', '/networks/');
    });
    assert.deepEqual(summarizeCalls(records), { 'v1 POST /networks/': 1, 'v1 GET /networks/': 1 });
    const offset = callLogSize(log);
    await hns.listNetworks();
    assert.deepEqual(
      readCallLog(log, offset).map((r) => r.op),
      ['listNetworks'],
    );
  });

  it('openDataplane wraps the data plane when SWITCHYARD_CALL_LOG is set', async () => {
    const hns = await openDataplane({ kind: 'memory', statePath: t.statePath, env: { SWITCHYARD_CALL_LOG: log } });
    await hns.version();
    await hns.listEndpoints();
    await hns.close();
    assert.deepEqual(
      readCallLog(log).map((r) => r.op),
      ['version', 'listEndpoints'],
    );
    const plain = await openDataplane({ kind: 'memory', statePath: t.statePath, env: {} });
    await plain.listEndpoints();
    assert.equal(readCallLog(log).length, 2);
  });

  it('concurrent processes append whole lines to one log', async () => {
    const net = await t.open().createNetwork(l2bridge('cbr0', '10.244.0.0/16', '10.244.0.1'));
    const procs = 8;
    const each = 10;
    const codes = await Promise.all(
      Array.from(
        { length: procs },
        () =>
          new Promise<number | null>((resolve) => {
            spawn(process.execPath, [WORKER, t.statePath, net.ID!, String(each), log], { stdio: 'ignore' }).on('exit', resolve);
          }),
      ),
    );
    assert.deepEqual(codes, Array(procs).fill(0));
    const recs = readCallLog(log);
    assert.equal(countCalls(recs, { op: 'createEndpoint', ok: true }), procs * each);
    assert.equal(new Set(recs.map((r) => r.pid)).size, procs);
    assert.ok(fs.readFileSync(log, 'utf8').endsWith('\n'));
  });

  it('ignores a final line cut short by a killed process', () => {
    fs.writeFileSync(log, '{"api":"v2","op":"listNetworks","ok":true,"pid":1,"ms":1}\n{"api":"v2","op":"creat');
    assert.deepEqual(
      readCallLog(log).map((r) => r.op),
      ['listNetworks'],
    );
  });
});
