/** 20 CLI processes creating endpoints on one state file at once lose nothing and share no IP. */
import { strict as assert } from 'node:assert';
import { parseHnsJson, type HostComputeEndpoint } from '../../../src/hns';
import { CliSandbox } from './helpers';

describe('cli: concurrent processes on one state file', function () {
  this.timeout(60_000); // spawns node processes; a loaded 2-core CI box is slow, not wrong
  const sb = new CliSandbox();
  after(() => sb.cleanup());

  it('20 concurrent `endpoint create` → 20 endpoints with distinct IPs', async () => {
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.244.1.0/24']);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sb.runAsync(['endpoint', 'create', '--network', 'cbr0', '--name', `pod-${i}`, '-o', 'json'])),
    );
    const failed = results.filter((r) => r.code !== 0);
    assert.deepEqual(
      failed.map((r) => r.stderr),
      [],
    );
    const printed = results.map((r) => parseHnsJson<HostComputeEndpoint>(r.stdout));
    const listed = parseHnsJson<HostComputeEndpoint[]>(sb.ok(['endpoint', 'list', '-o', 'json']));
    assert.equal(listed.length, 20);
    assert.deepEqual(listed.map((e) => e.Name).sort(), printed.map((e) => e.Name).sort());
    const ips = listed.map((e) => e.IpConfigurations?.[0].IpAddress);
    assert.equal(new Set(ips).size, 20, `duplicate IPs: ${ips.join(' ')}`);
    assert.ok(ips.every((ip) => /^10\.244\.1\.\d+$/.test(ip ?? '')));
  });
});
