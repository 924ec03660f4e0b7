/**
 * The etcd subnet source against a real etcd (Debian's etcd-server): flannel's key layout and exact values,
 * race-free allocation under concurrency, the lease kept across restarts, TTL and renewal, peers through
 * the watch (join, change, leave by expiry, after an etcd restart), and leases written by a real flanneld.
 */
import { Etcd3 } from 'etcd3';
import { strict as assert } from 'node:assert';
import { EtcdSubnetSource, type EtcdSourceOptions } from '../../src/agent/subnet/etcd';
import { parseNetConf } from '../../src/agent/subnet/flannel';
import type { LocalAnnouncement } from '../../src/agent/subnet/types';
import { TcpCut, etcdOrSkip, startEtcd, type EtcdServer } from './helpers/etcd';

const NET = parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
const ann = (i: number): LocalAnnouncement => ({
  node: `n${i}`,
  publicIp: `192.168.50.${i}`,
  backendType: 'vxlan',
  vni: 4096,
  vtepMac: `aa:bb:cc:00:00:${i.toString(16).padStart(2, '0')}`,
});

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('agent subnet: etcd source (real etcd)', function () {
  this.timeout(60_000);
  let etcd: EtcdServer;
  let client: Etcd3;
  let prefix: string;
  let n = 0;
  const sources: EtcdSubnetSource[] = [];

  const source = (over: Partial<EtcdSourceOptions> = {}) => {
    const s = new EtcdSubnetSource({ endpoints: [etcd.endpoint], prefix, netConf: NET, ...over });
    sources.push(s);
    return s;
  };
  const keys = async () => (await client.getAll().prefix(`${prefix}/subnets/`).keys()).sort();
  const leaseOf = async (key: string) => {
    const r = await client.getAll().prefix(key).exec();
    return r.kvs.length ? String(r.kvs[0].lease) : undefined;
  };

  before(async function () {
    etcdOrSkip(this);
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });
  beforeEach(() => {
    prefix = `/t${++n}/network`;
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.close();
  });

  it("refuses without a cluster config, seeds it from the node's net-conf, and refuses a disagreeing one", async () => {
    await assert.rejects(source({ netConf: undefined }).start(ann(1)), new RegExp(`no network configuration at ${prefix}/config`));
    await assert.rejects(
      source({ endpoints: ['http://127.0.0.1:1'], connectTimeoutMs: 500 }).start(ann(1)),
      /etcd http:\/\/127\.0\.0\.1:1: cannot read .*\/config: .*ECONNREFUSED/,
    );
    const lease = await source().start(ann(1));
    assert.equal(
      await client.get(`${prefix}/config`).string(),
      '{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}',
    );
    assert.match(lease.subnet, /^10\.244\.\d+\.0\/24$/);
    const other = parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":1}}');
    await assert.rejects(source({ netConf: other }).start(ann(2)), /disagrees with .*config.*Backend\.VNI 1 ≠ 4096/);
  });

  it("allocates a lease in flannel's layout with the exact value and an etcd TTL", async () => {
    // A config written by hand with flannel's keys, as an operator would with etcdctl.
    await client
      .put(`${prefix}/config`)
      .value(
        '{"Network":"10.20.0.0/16","SubnetLen":24,"SubnetMin":"10.20.10.0","SubnetMax":"10.20.10.0","Backend":{"Type":"vxlan","VNI":4096}}',
      );
    const s = source({ netConf: undefined, ttlSeconds: 600, renewMarginSeconds: 60 });
    const lease = await s.start(ann(7));
    assert.deepEqual(lease, {
      node: 'n7',
      subnet: '10.20.10.0/24',
      publicIp: '192.168.50.7',
      backendType: 'vxlan',
      vni: 4096,
      vtepMac: 'aa:bb:cc:00:00:07',
    });
    assert.deepEqual(s.clusterNetConf?.network, '10.20.0.0/16');
    const key = `${prefix}/subnets/10.20.10.0-24`;
    assert.deepEqual(await keys(), [key]);
    assert.equal(
      await client.get(key).string(),
      '{"PublicIP":"192.168.50.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:00:00:07"}}',
    );
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: (await leaseOf(key))! });
    assert.equal(Number(ttl.grantedTTL), 600);
    // The range holds one subnet: a second node is refused with the reason.
    await assert.rejects(source({ netConf: undefined }).start(ann(8)), /out of subnets/);
  });

  it('ten nodes starting at once get ten different subnets', async () => {
    const all = Array.from({ length: 10 }, (_, i) => source().start(ann(i + 1)));
    const leases = await Promise.all(all);
    const subnets = leases.map((l) => l.subnet);
    assert.equal(new Set(subnets).size, 10, `duplicates in ${subnets.join(', ')}`);
    assert.equal((await keys()).length, 10);
    for (const l of leases) {
      const v = JSON.parse((await client.get(`${prefix}/subnets/${l.subnet.replace('/', '-')}`).string())!);
      assert.equal(v.PublicIP, l.publicIp);
    }
  });

  it('ten nodes racing for exactly ten subnets all get one: the transaction turns collisions into retries', async () => {
    // Each lost race is another node's successful create, so ten attempts always suffice for ten nodes.
    await client
      .put(`${prefix}/config`)
      .value('{"Network":"10.30.0.0/16","SubnetMin":"10.30.1.0","SubnetMax":"10.30.10.0","Backend":{"Type":"vxlan"}}');
    let lost = 0;
    const log = { info: (m: string) => void (m.startsWith('another node took') && lost++), warn() {}, error() {}, debug() {} };
    const leases = await Promise.all(Array.from({ length: 10 }, (_, i) => source({ netConf: undefined, log }).start(ann(i + 1))));
    assert.deepEqual(
      leases.map((l) => l.subnet).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
      Array.from({ length: 10 }, (_, i) => `10.30.${i + 1}.0/24`),
    );
    assert.ok(lost > 0, 'the nodes did collide (otherwise this test proves nothing)');
    console.log(`      (${lost} lost races resolved by retry)`);
  });

  it('keeps the lease across a restart (matched by PublicIP) and takes a previous subnet.env subnet when free', async () => {
    const first = await source().start(ann(3));
    await sources[0].close();
    const again = await source().start({ ...ann(3), vtepMac: 'aa:bb:cc:00:00:33' });
    assert.equal(again.subnet, first.subnet);
    assert.equal((await keys()).length, 1);
    assert.match((await client.get(`${prefix}/subnets/${first.subnet.replace('/', '-')}`).string())!, /"VtepMAC":"aa:bb:cc:00:00:33"/);
    // The first lease is drawn at random: the subnets named below are ones it did not get.
    const [previous, left] = ['77', '78', '88', '89'].map((x) => `10.244.${x}.0/24`).filter((c) => c !== first.subnet);
    const prev = await source({ previousSubnet: previous }).start(ann(4));
    assert.equal(prev.subnet, previous);
    // A lease flanneld left with another backend still belongs to this public IP (flannel's findLeaseByIP).
    const leftKey = `${prefix}/subnets/${left.replace('/', '-')}`;
    await client.put(leftKey).value('{"PublicIP":"192.168.50.5","PublicIPv6":null,"BackendType":"udp","BackendData":{}}');
    const switched = await source().start(ann(5));
    assert.equal(switched.subnet, left);
    assert.equal(
      await client.get(leftKey).string(),
      '{"PublicIP":"192.168.50.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:00:00:05"}}',
    );
  });

  it('reuses a lease a real flanneld left for this public IP, and reads flannel-written peers', async () => {
    // Written exactly as flanneld does: key <prefix>/subnets/a.b.c.d-n, LeaseAttrs JSON, attached to a TTL lease.
    const ttlLease = await client.leaseClient.leaseGrant({ TTL: 3600 });
    await client.put(`${prefix}/config`).value('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4096,"Port":4789}}');
    await client
      .put(`${prefix}/subnets/10.244.42.0-24`)
      .value('{"PublicIP":"192.168.50.9","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"aa:bb:cc:00:00:09"}}')
      .lease(ttlLease.ID);
    await client
      .put(`${prefix}/subnets/10.244.43.0-24`)
      .value('{"PublicIP":"10.0.0.43","PublicIPv6":null,"BackendType":"host-gw"}')
      .lease(ttlLease.ID);
    await client
      .put(`${prefix}/subnets/10.244.44.0-24`)
      .value('{"PublicIP":"10.0.0.44","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"ba:c1:6f:91:17:c7"}}')
      .lease(ttlLease.ID);
    await client
      .put(`${prefix}/subnets/10.244.45.0-24`)
      .value('{"PublicIP":"10.0.0.45","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"x"}}')
      .lease(ttlLease.ID);
    const s = source();
    const lease = await s.start(ann(9));
    assert.equal(lease.subnet, '10.244.42.0/24');
    assert.deepEqual(s.unusable(), [
      { node: '10.244.45.0-24', why: 'lease 10.244.45.0/24: backend type "wireguard" is not one Switchyard programs (host-gw, vxlan)' },
    ]);
    assert.deepEqual(s.peers(), [
      { node: '10.0.0.43', subnet: '10.244.43.0/24', publicIp: '10.0.0.43', backendType: 'host-gw' },
      { node: '10.0.0.44', subnet: '10.244.44.0/24', publicIp: '10.0.0.44', backendType: 'vxlan', vni: 4096, vtepMac: 'ba:c1:6f:91:17:c7' },
    ]);
  });

  it("renews its lease before the TTL runs out; a closed source's lease expires", async () => {
    const s = source({ ttlSeconds: 3, renewMarginSeconds: 2 });
    const started = Date.now();
    const lease = await s.start(ann(5));
    const key = `${prefix}/subnets/${lease.subnet.replace('/', '-')}`;
    const firstId = (await leaseOf(key))!;
    const ids = new Set([firstId]);
    await until('two renewals', async () => {
      const id = await leaseOf(key);
      if (id) ids.add(id);
      return ids.size >= 3;
    });
    const firstTtl = await client.leaseClient.leaseTimeToLive({ ID: firstId });
    assert.equal(Number(firstTtl.TTL), -1, 'the replaced lease is gone (revoked by its owner)');
    await until("the first lease's TTL to have run out", () => Date.now() - started > 4000);
    assert.ok(await client.get(key).string(), 'the key outlived its first lease through renewal');

    await s.close();
    await until('the unrenewed lease expires', async () => (await client.get(key).string()) === null);
  });

  it('peers join, change and leave through the watch; the source resumes after an etcd restart', async () => {
    const a = source();
    let changes = 0;
    a.onChange(() => changes++);
    await a.start(ann(1));
    const b = source({ ttlSeconds: 3, renewMarginSeconds: 2 });
    const bl = await b.start(ann(2));
    await until('b joins', () => a.peers().some((p) => p.subnet === bl.subnet));
    assert.deepEqual(a.peers(), [
      { node: '192.168.50.2', subnet: bl.subnet, publicIp: '192.168.50.2', backendType: 'vxlan', vni: 4096, vtepMac: 'aa:bb:cc:00:00:02' },
    ]);

    let c = changes;
    await b.publish({ ...ann(2), vtepMac: 'aa:bb:cc:00:00:22' });
    await until("b's VtepMAC change", () => changes > c && a.peers()[0]?.vtepMac === 'aa:bb:cc:00:00:22');

    c = changes;
    await b.close();
    await until('b leaves when its lease expires', () => changes > c && a.peers().length === 0);

    await etcd.restart();
    const cl = await source().start(ann(3));
    await until('c seen after the restart', () => a.peers().some((p) => p.subnet === cl.subnet));
  });

  it('a watch whose resume revision was compacted while disconnected re-lists and misses nothing', async () => {
    const relay = new TcpCut(etcd.clientPort);
    await relay.start();
    try {
      const events: string[] = [];
      const log = { info() {}, debug() {}, error() {}, warn: (m: string) => void events.push(m) };
      const a = source({ endpoints: [relay.endpoint], log });
      await a.start(ann(1));
      const grant = await client.leaseClient.leaseGrant({ TTL: 3600 });
      const put = (sn: string, ip: string) =>
        client.put(`${prefix}/subnets/${sn}`).value(`{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"host-gw"}`).lease(grant.ID);
      await put('10.244.201.0-24', '10.0.1.1');
      await until('peer 201 seen', () => a.peers().some((p) => p.subnet === '10.244.201.0/24'));

      relay.cut();
      await until('the watch noticed the cut', () => events.some((m) => m.includes('disconnected')));
      await client.delete().key(`${prefix}/subnets/10.244.201.0-24`);
      await put('10.244.202.0-24', '10.0.1.2');
      const rev = (await client.getAll().prefix(`${prefix}/`).exec()).header.revision;
      await client.kv.compact({ revision: rev, physical: true });
      relay.restore();

      await until(
        're-listed state',
        () =>
          a
            .peers()
            .map((p) => p.subnet)
            .join() === '10.244.202.0/24',
        30_000,
      );
      // etcd cancels a watch whose start revision is compacted (etcd3 reports an empty cancel reason).
      assert.ok(
        events.some((m) => /canceled/.test(m) && /re-listing/.test(m)),
        `expected a re-list after the cancelled watch, got: ${events.join(' | ')}`,
      );
    } finally {
      await relay.close();
    }
  });

  it('re-creates its own key when it is deleted out of band', async () => {
    const s = source();
    const lease = await s.start(ann(6));
    const key = `${prefix}/subnets/${lease.subnet.replace('/', '-')}`;
    await client.delete().key(key);
    await until('key back', async () => (await client.get(key).string()) !== null);
    assert.match((await client.get(key).string())!, /"PublicIP":"192.168.50.6"/);
  });
});
