/** SWITCHYARD_LOG_FILE: one JSON line per CNI invocation, with no config content and no secrets. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, type Lab, makeLab, runSync } from './helpers';
import { redact } from '../../src/util/log';

describe('CNI operational log (SWITCHYARD_LOG_FILE)', () => {
  let lab: Lab;
  let logFile: string;
  beforeEach(() => {
    lab = makeLab();
    logFile = path.join(lab.dir, 'switchyard.log');
  });
  afterEach(() => lab.cleanup());

  it('writes one line per call with the container identity, the outcome and the CNI error', () => {
    const conf = { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge', runtimeConfig: { portMappings: [], password: 'hunter2' } };
    const r = runSync('win-bridge', lab, { ...ADD('ctr1'), SWITCHYARD_LOG_FILE: logFile }, conf);
    assert.notEqual(r.code, 0, 'the network does not exist, so ADD fails');
    const text = fs.readFileSync(logFile, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].component, 'win-bridge');
    assert.equal(lines[0].level, 'error');
    assert.equal(lines[0].command, 'ADD');
    assert.equal(lines[0].containerId, 'ctr1');
    assert.match(lines[0].error.msg, /cbr0/);
    assert.ok(!text.includes('hunter2'), 'config content never reaches the log');
  });

  it('logs nothing and loads no logger when SWITCHYARD_LOG_FILE is unset', () => {
    runSync('win-bridge', lab, ADD('ctr2'), { cniVersion: '1.0.0', name: 'cbr0', type: 'win-bridge' });
    assert.ok(!fs.existsSync(logFile));
  });

  it('redacts credential-looking keys at any depth', () => {
    assert.deepEqual(redact({ a: 1, token: 'x', nested: [{ clientKeyData: 'k', Password: 'p', name: 'n' }] }), {
      a: 1,
      token: '[redacted]',
      nested: [{ clientKeyData: '[redacted]', Password: '[redacted]', name: 'n' }],
    });
  });
});
