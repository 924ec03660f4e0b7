/** docs/agent.md's example configuration is valid as written. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildAgentConfig } from '../../src/agent/config';

describe('docs/agent.md', () => {
  it('the example configuration loads and means what the page says', () => {
    const text = fs.readFileSync(path.resolve(__dirname, '../../../docs/agent.md'), 'utf8');
    const m = /```yaml agent-example\n([\s\S]*?)```/.exec(text);
    assert.ok(m, 'no ```yaml agent-example block');
    const YAML = require('yaml') as typeof import('yaml');
    const c = buildAgentConfig({ file: YAML.parse(m[1]), flags: {}, hostname: 'h', platform: 'win32', env: {} });
    assert.equal(c.node, 'win-node-1');
    assert.equal(c.netConf.backend.type, 'vxlan');
    assert.equal(c.netConf.backend.vni, 4096);
    assert.equal(c.cni.type, 'win-overlay');
    assert.equal(c.cni.confDir, 'C:\\etc\\cni\\net.d');
    assert.equal(c.socket, '\\\\.\\pipe\\switchyard-agent');
    assert.equal(c.metricsAddress, '127.0.0.1:9915');
    assert.deepEqual(
      c.peers.map((p) => `${p.node} ${p.backendType} ${p.vni} ${p.vtepMac}`),
      ['linux-node-1 vxlan 4096 ba:c1:6f:91:17:c7', 'win-node-2 vxlan 4096 00:15:5d:fb:cb:0d'],
    );
  });
});
