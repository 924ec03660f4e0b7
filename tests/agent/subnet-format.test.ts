/**
 * flannel's formats and subnet arithmetic, pure: the byte strings a real flanneld writes and reads (etcd
 * lease values, node annotations, subnet.env, net-conf defaults), and the subnet range/allocation rules of
 * flannel's pkg/subnet/config.go and etcd LocalManager.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cidrContains,
  firstAddressCidr,
  freeSubnets,
  isLeasable,
  parseSubnetKey,
  pickFreeSubnet,
  subnetKey,
  subnetRange,
} from '../../src/agent/subnet/allocate';
import {
  annotationNames,
  backendDataJson,
  desiredAnnotations,
  leaseFromNode,
  leaseValueJson,
  netConfDifferences,
  normalizeMac,
  parseLeaseValue,
  parseNetConf,
} from '../../src/agent/subnet/flannel';
import { defaultSubnetEnvPath, previousSubnet, readSubnetEnv, renderSubnetEnv, writeSubnetEnv } from '../../src/agent/subnet/subnet-env';

describe('agent subnet: flannel formats and allocation', () => {
  describe('subnet range (flannel CheckNetworkConfig)', () => {
    it('defaults SubnetLen to 24 and skips the first subnet', () => {
      assert.deepEqual(subnetRange({ network: '10.244.0.0/16' }), {
        network: '10.244.0.0/16',
        subnetLen: 24,
        subnetMin: '10.244.1.0',
        subnetMax: '10.244.255.0',
      });
    });
    it('small networks get network+2 subnets; below /28 is refused', () => {
      assert.equal(subnetRange({ network: '10.1.0.0/24' }).subnetLen, 26);
      assert.throws(() => subnetRange({ network: '10.1.0.0/29' }), /Network: .*too small/);
    });
    it('names the field that is wrong', () => {
      assert.throws(() => subnetRange({ network: '10.244.0.0/16', subnetLen: 31 }), /SubnetLen/);
      assert.throws(() => subnetRange({ network: '10.244.0.0/16', subnetLen: 17 }), /SubnetLen: \/17 leaves/);
      assert.throws(() => subnetRange({ network: '10.244.0.0/16', subnetMin: '10.245.0.0' }), /SubnetMin: 10.245.0.0 is not inside/);
      assert.throws(() => subnetRange({ network: '10.244.0.0/16', subnetMax: '10.244.3.7' }), /SubnetMax: .* boundary/);
      assert.throws(() => subnetRange({ network: 'nope' }), /Network: "nope"/);
    });
    it('free subnets skip overlapping leases, in order, capped', () => {
      const r = subnetRange({ network: '10.244.0.0/16', subnetMax: '10.244.5.0' });
      assert.deepEqual(freeSubnets(r, ['10.244.2.0/24', '10.244.4.0/23']), ['10.244.1.0/24', '10.244.3.0/24']);
      assert.equal(freeSubnets(subnetRange({ network: '10.0.0.0/8' }), []).length, 100);
      assert.equal(
        pickFreeSubnet(r, ['10.244.1.0/24', '10.244.2.0/24', '10.244.4.0/24'], () => 0.99),
        '10.244.5.0/24',
      );
      assert.throws(() => pickFreeSubnet(r, ['10.244.0.0/16']), /out of subnets/);
    });
    it('leasable means inside SubnetMin..Max with the SubnetLen prefix', () => {
      const r = subnetRange({ network: '10.244.0.0/16' });
      assert.ok(isLeasable(r, '10.244.7.0/24'));
      assert.ok(!isLeasable(r, '10.244.0.0/24'));
      assert.ok(!isLeasable(r, '10.244.7.0/25'));
      assert.ok(cidrContains('10.244.0.0/16', '10.244.7.0/24') && !cidrContains('10.244.0.0/16', '10.245.7.0/24'));
    });
    it('etcd keys are spelled as flannel spells them', () => {
      assert.equal(subnetKey('10.244.3.0/24'), '10.244.3.0-24');
      assert.equal(parseSubnetKey('/coreos.com/network/subnets/10.244.3.0-24'), '10.244.3.0/24');
      assert.equal(parseSubnetKey('/coreos.com/network/subnets/10.244.3.0-24&fc00:0:0:3::-64'), '10.244.3.0/24');
      assert.equal(parseSubnetKey('/coreos.com/network/config'), undefined);
      assert.equal(firstAddressCidr('10.244.2.0/24'), '10.244.2.1/24');
    });
  });

  describe('etcd lease values (flannel LeaseAttrs as Go marshals it)', () => {
    it("vxlan and host-gw values are byte-identical to flannel's", () => {
      assert.equal(
        leaseValueJson({ node: 'n1', publicIp: '192.168.79.40', backendType: 'vxlan', vni: 4096, vtepMac: '00-15-5D-FB-CB-0D' }),
        '{"PublicIP":"192.168.79.40","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"00:15:5d:fb:cb:0d"}}',
      );
      assert.equal(
        leaseValueJson({ node: 'n1', publicIp: '10.0.0.5', backendType: 'host-gw' }),
        '{"PublicIP":"10.0.0.5","PublicIPv6":null,"BackendType":"host-gw"}',
      );
      assert.equal(backendDataJson({ node: 'w', publicIp: '10.0.0.5', backendType: 'vxlan', vni: 4096 }), '{"VNI":4096,"VtepMAC":""}');
    });
    it('reads what flanneld wrote, including dual-stack and extra fields', () => {
      const l = parseLeaseValue(
        '10.244.3.0/24',
        '{"PublicIP":"10.0.0.7","PublicIPv6":"fc00::7","BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"ba:c1:6f:91:17:c7"},"BackendV6Data":{"VNI":4096,"VtepMAC":"ba:c1:6f:91:17:c8"}}',
      );
      assert.deepEqual(l, {
        node: '10.0.0.7',
        subnet: '10.244.3.0/24',
        publicIp: '10.0.0.7',
        backendType: 'vxlan',
        vni: 4096,
        vtepMac: 'ba:c1:6f:91:17:c7',
      });
      assert.throws(
        () => parseLeaseValue('10.244.3.0/24', '{"PublicIP":"10.0.0.7","BackendType":"udp"}'),
        /lease 10.244.3.0\/24: backend type "udp"/,
      );
      assert.throws(() => parseLeaseValue('10.244.3.0/24', '{"PublicIP":"x","BackendType":"host-gw"}'), /PublicIP/);
    });
    it("MACs take Go's form", () => {
      assert.equal(normalizeMac('0E-2A-0A-F4-01-07'), '0e:2a:0a:f4:01:07');
      assert.throws(() => normalizeMac('0e:2a'), /VtepMAC/);
    });
  });

  describe('node annotations (flannel kube subnet manager)', () => {
    const names = annotationNames();
    it('writes the four annotations as flannel does', () => {
      assert.deepEqual(
        desiredAnnotations({ node: 'w1', publicIp: '192.168.79.40', backendType: 'vxlan', vni: 4096, vtepMac: '00:15:5d:d5:db:a5' }, names),
        {
          'flannel.alpha.coreos.com/backend-type': 'vxlan',
          'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"00:15:5d:d5:db:a5"}',
          'flannel.alpha.coreos.com/public-ip': '192.168.79.40',
          'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        },
      );
      assert.equal(
        desiredAnnotations({ node: 'l1', publicIp: '10.0.0.1', backendType: 'host-gw' }, names)['flannel.alpha.coreos.com/backend-data'],
        'null',
      );
      assert.equal(
        desiredAnnotations({ node: 'l1', publicIp: '10.0.0.1', backendType: 'host-gw' }, names, '1.2.3.4')[
          'flannel.alpha.coreos.com/public-ip'
        ],
        '1.2.3.4',
      );
    });
    it("custom prefixes follow flannel's rules", () => {
      assert.equal(annotationNames('example.com').backendType, 'example.com/backend-type');
      assert.equal(annotationNames('example.com/net').backendType, 'example.com/net-backend-type');
      assert.throws(() => annotationNames('a/b/c'), /at most one slash/);
      assert.throws(() => annotationNames('Bad_Prefix'), /FQDN/);
    });
    it('a node is a peer only with kube-subnet-manager=true, a public IP and an IPv4 pod CIDR', () => {
      const node = (
        ann: Record<string, string>,
        spec: Record<string, unknown> = { podCIDR: '10.244.5.0/24', podCIDRs: ['10.244.5.0/24', 'fd00:5::/64'] },
      ) => ({ metadata: { name: 'l2', annotations: ann }, spec });
      const full = {
        'flannel.alpha.coreos.com/backend-type': 'vxlan',
        'flannel.alpha.coreos.com/backend-data': '{"VNI":4096,"VtepMAC":"12:c6:65:89:b4:e3"}',
        'flannel.alpha.coreos.com/public-ip': '10.0.0.12',
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
      };
      assert.deepEqual(leaseFromNode(node(full), names), {
        lease: {
          node: 'l2',
          subnet: '10.244.5.0/24',
          publicIp: '10.0.0.12',
          backendType: 'vxlan',
          vni: 4096,
          vtepMac: '12:c6:65:89:b4:e3',
        },
      });
      assert.match(
        (leaseFromNode(node({ ...full, 'flannel.alpha.coreos.com/kube-subnet-manager': 'false' }), names) as { why: string }).why,
        /kube-subnet-manager/,
      );
      assert.match((leaseFromNode(node(full, {}), names) as { why: string }).why, /podCIDR/);
      assert.match(
        (leaseFromNode(node({ ...full, 'flannel.alpha.coreos.com/backend-type': 'wireguard' }), names) as { why: string }).why,
        /wireguard/,
      );
      assert.match(
        (leaseFromNode(node({ ...full, 'flannel.alpha.coreos.com/backend-data': '{' }), names) as { why: string }).why,
        /backend-data: not JSON/,
      );
    });
  });

  describe('net-conf.json', () => {
    it('flannel defaults plus VNI 4096 / port 4789', () => {
      assert.deepEqual(parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'), {
        network: '10.244.0.0/16',
        subnetLen: 24,
        subnetMin: '10.244.1.0',
        subnetMax: '10.244.255.0',
        backend: { type: 'vxlan', vni: 4096, port: 4789, directRouting: false },
      });
    });
    it('names the bad field', () => {
      assert.throws(() => parseNetConf('{"Backend":{"Type":"vxlan"}}'), /net-conf: Network: required/);
      assert.throws(() => parseNetConf('{"Network":"10.244.0.0/16"}'), /Backend.Type: null is not supported/);
      assert.throws(() => parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":"x"}}'), /Backend.VNI/);
      assert.throws(() => parseNetConf('{"Network":"10.244.0.0/16","SubnetLen":8,"Backend":{"Type":"host-gw"}}'), /SubnetLen/);
    });
    it('differences are listed by field', () => {
      const a = parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
      const b = parseNetConf('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":1}}');
      assert.deepEqual(netConfDifferences(a, b), ['Backend.VNI 4096 ≠ 1']);
    });
  });

  describe('subnet.env', () => {
    it("is flannel's exact text and lands where flannel puts it", () => {
      assert.equal(
        renderSubnetEnv({ network: '10.244.0.0/16', subnet: '10.244.2.0/24', mtu: 1450, ipMasq: true }),
        'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
      );
      assert.equal(defaultSubnetEnvPath('linux'), '/run/flannel/subnet.env');
      assert.equal(defaultSubnetEnvPath('win32'), 'C:\\run\\flannel\\subnet.env');
    });
    it('is written atomically, readable back, and a rewrite with the same content is a no-op', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-subnetenv-'));
      try {
        const file = path.join(dir, 'run/flannel/subnet.env');
        assert.equal(writeSubnetEnv(file, { network: '10.244.0.0/16', subnet: '10.244.9.0/24', mtu: 1500, ipMasq: false }), true);
        assert.equal(
          fs.readFileSync(file, 'utf8'),
          'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n',
        );
        assert.equal(fs.statSync(file).mode & 0o777, 0o644);
        assert.equal(writeSubnetEnv(file, { network: '10.244.0.0/16', subnet: '10.244.9.0/24', mtu: 1500, ipMasq: false }), false);
        assert.deepEqual(fs.readdirSync(path.dirname(file)), ['subnet.env']);
        assert.equal(readSubnetEnv(file)?.FLANNEL_MTU, '1500');
        assert.equal(previousSubnet(file), '10.244.9.0/24');
        assert.equal(previousSubnet(path.join(dir, 'absent.env')), undefined);
        assert.throws(() => renderSubnetEnv({ network: '10.244.0.0/16', subnet: '10.244.9.0/24', mtu: 0, ipMasq: false }), /MTU/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
