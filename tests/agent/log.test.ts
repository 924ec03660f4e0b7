/** The agent's log: JSON lines, size-based rotation with --log-file, credentials never written. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createAgentLogger } from '../../src/agent/log';

describe('agent log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-agent-log-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rotates by size, keeps maxFiles files of JSON lines, and redacts credential-like keys', async () => {
    const file = path.join(dir, 'agent.log');
    const log = createAgentLogger({ file, maxSize: 4096, maxFiles: 3 });
    for (let i = 0; i < 200; i++)
      log.info('programmed', {
        step: `modify Network/flannel.4096: RemoteSubnetRoute 10.244.${i % 250}.0/24 missing`,
        token: 'secret-token-value',
      });
    await log.close();
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('agent'));
    assert.ok(files.length >= 2 && files.length <= 3, `files: ${files.join(', ')}`);
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.ok(fs.statSync(path.join(dir, f)).size <= 4096 + 512, `${f} is ${fs.statSync(path.join(dir, f)).size} bytes`);
      assert.doesNotMatch(text, /secret-token-value/);
      for (const line of text.split('\n').filter(Boolean)) {
        const rec = JSON.parse(line) as { message: string; token: string; component: string };
        assert.equal(rec.token, '[redacted]');
        assert.equal(rec.component, 'agent');
      }
    }
  });
});
