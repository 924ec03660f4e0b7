/** switchyard diagram: every object labelled in the SVG Graphviz laid out; the SVG rasterizes to a PNG of the expected size. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { svgToPng } from '../../../src/ops/render';
import { CliSandbox } from './helpers';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** The SVG's text, entities decoded (Graphviz writes `→` and `-` as they are, `&#45;` for some dashes). */
function texts(svg: string): string {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&#45;/g, '-').replace(/&gt;/g, '>')).join('\n');
}

describe('cli: diagram', function () {
  this.timeout(60_000);
  const sb = new CliSandbox();
  const ids: Record<string, { mac: string; ip: string }> = {};
  before(() => {
    sb.ok(['network', 'create', '--type', 'Overlay', '--name', 'flannel.4096', '--subnet', '10.244.1.0/24', '--adapter', 'eth0']);
    sb.ok(['network', 'create', '--type', 'L2Bridge', '--name', 'cbr0', '--subnet', '10.245.1.0/24']);
    sb.ok([
      'network',
      'policy',
      'add',
      'flannel.4096',
      '--policy',
      JSON.stringify({
        Type: 'RemoteSubnetRoute',
        Settings: {
          DestinationPrefix: '10.244.9.0/24',
          IsolationId: 4096,
          ProviderAddress: '192.168.0.19',
          DistributedRouterMacAddress: '00-15-5D-BB-6E-C2',
        },
      }),
    ]);
    sb.ok(['endpoint', 'create', '--network', 'flannel.4096', '--name', 'cbr0_ep', '--ip', '10.244.1.2', '--host']);
    sb.ok(['endpoint', 'create', '--network', 'flannel.4096', '--name', 'web-1']);
    sb.ok(['endpoint', 'create', '--network', 'cbr0', '--name', 'web-2']);
    for (const e of JSON.parse(sb.ok(['endpoint', 'list', '-o', 'json'])) as {
      Name: string;
      MacAddress: string;
      IpConfigurations: { IpAddress: string }[];
    }[])
      ids[e.Name] = { mac: e.MacAddress, ip: e.IpConfigurations[0].IpAddress };
    sb.ok([
      'lb',
      'create',
      '--name',
      'web',
      '--vip',
      '10.96.0.20',
      '--protocol',
      'tcp',
      '--port',
      '80',
      '--target-port',
      '8080',
      '--endpoint',
      'web-1',
      'web-2',
    ]);
  });
  after(() => sb.cleanup());

  it('labels networks (type, subnet, VNI), endpoints (IP, MAC), the host endpoint, the LB (VIP, ports) and the peer with its path', () => {
    const r = sb.run(['diagram', '-o', 'node.svg', '--no-agent']);
    assert.equal(r.code, 0, r.stderr);
    const t = texts(fs.readFileSync(path.join(sb.dir, 'node.svg'), 'utf8'));
    for (const want of [
      'network flannel.4096',
      'Overlay 10.244.1.0/24',
      'VNI 4096',
      'network cbr0',
      'L2Bridge 10.245.1.0/24',
      'host endpoint cbr0_ep',
      'endpoint web-1',
      'endpoint web-2',
      'load balancer web',
      'VIP 10.96.0.20',
      'tcp/80→8080',
      'peer 192.168.0.19',
      '10.244.9.0/24',
      'VXLAN VNI 4096',
      'backend',
    ])
      assert.ok(t.includes(want), `${want} in\n${t}`);
    for (const e of Object.values(ids)) {
      assert.ok(t.includes(e.mac), `MAC ${e.mac}`);
      assert.ok(t.includes(e.ip), `IP ${e.ip}`);
    }
  });

  it('the SVG rasterizes to a non-empty PNG of its size at 96 dpi, and -o FILE.png --width scales it', () => {
    const svg = sb.ok(['diagram', '--no-agent']);
    const m = /<svg width="([\d.]+)pt" height="([\d.]+)pt"/.exec(svg)!;
    const png = svgToPng(svg);
    const size = pngSize(png.data);
    assert.ok(Math.abs(size.width - (Number(m[1]) * 4) / 3) <= 1, `${size.width} vs ${m[1]}pt`);
    assert.ok(Math.abs(size.height - (Number(m[2]) * 4) / 3) <= 1, `${size.height} vs ${m[2]}pt`);
    assert.ok(png.data.length > 2000);
    const r = sb.run(['diagram', '--no-agent', '-o', 'node.png', '--width', '800']);
    assert.equal(r.code, 0, r.stderr);
    const file = fs.readFileSync(path.join(sb.dir, 'node.png'));
    const s2 = pngSize(file);
    assert.equal(s2.width, 800);
    assert.ok(Math.abs(s2.height - (800 * Number(m[2])) / Number(m[1])) <= 1);
  });

  it('refuses an unknown extension and a width out of range (exit 2, nothing written)', () => {
    assert.equal(sb.run(['diagram', '-o', 'x.gif']).code, 2);
    const r = sb.run(['diagram', '-o', 'y.png', '--width', '5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--width: "5" is not an integer in 100\.\.10000/);
    assert.equal(fs.existsSync(path.join(sb.dir, 'y.png')), false);
  });

  it('-o FILE.dot writes the Graphviz source', () => {
    sb.ok(['diagram', '--no-agent', '-o', 'node.dot']);
    assert.match(fs.readFileSync(path.join(sb.dir, 'node.dot'), 'utf8'), /^digraph switchyard \{/);
  });
});
