/**
 * Issue 11, defect 4: every file and directory a CNI call creates has a fixed, minimal mode whatever the
 * umask (state, locks, logs: 0600 files, 0700 directories; IPAM reservations 0600 as host-local), and no
 * create follows a symlink: a planted link is refused, never followed, never replaced.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADD, DEL, runSync } from './helpers';
import { CNI_PATH, makeRelLab, namespaces, netconf, type RelLab } from './reliability-lab';

const mode = (p: string) => fs.lstatSync(p).mode & 0o777;

for (const umask of [0o000, 0o022]) {
  describe(`file modes under umask ${umask.toString(8).padStart(3, '0')}`, () => {
    let lab: RelLab;
    let saved: number;
    before(() => (saved = process.umask(umask)));
    after(() => process.umask(saved));
    beforeEach(async () => {
      lab = await makeRelLab();
      // State and logs in directories that do not exist yet, so the plugin creates them.
      lab.env.SWITCHYARD_LOG_FILE = path.join(lab.dir, 'logs', 'deep', 'cni.log');
    });
    afterEach(() => lab.cleanup());

    it('state, state lock, log, log directory and IPAM files get fixed modes', async () => {
      const fresh = path.join(lab.dir, 'state2', 'sub', 'hns.json');
      fs.mkdirSync(path.dirname(path.dirname(fresh)), { mode: 0o700 });
      fs.chmodSync(path.dirname(path.dirname(fresh)), 0o700);
      const env = { ...lab.env, SWITCHYARD_STATE: fresh };
      const sub = path.dirname(fresh);
      const { openDataplane } = await import('../../src/dataplane/factory');
      const svc = await openDataplane({ kind: 'memory', statePath: fresh, env: { ...env, SWITCHYARD_CALL_LOG: '' } });
      await svc.v1!.call('POST', '/networks/', {
        Name: 'cbr0',
        Type: 'L2Bridge',
        Subnets: [{ AddressPrefix: '10.244.1.0/24', GatewayAddress: '10.244.1.1' }],
      });
      const ns = (await svc.createNamespace({ Type: 'Host', SchemaVersion: { Major: 2, Minor: 0 } })).ID!;
      await svc.close();
      lab.env.SWITCHYARD_STATE = fresh;
      const conf = netconf(lab, 'win-bridge', 'switchyard-ipam');
      const r = runSync('win-bridge', lab, { ...ADD('m1', ns), CNI_PATH }, conf);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(mode(sub), 0o700, 'state directory');
      assert.equal(mode(fresh), 0o600, 'state file');
      assert.equal(mode(fresh + '.lock'), 0o600, 'state lock');
      assert.equal(mode(path.join(lab.dir, 'logs')), 0o700, 'log directory');
      assert.equal(mode(path.join(lab.dir, 'logs', 'deep')), 0o700, 'log directory');
      assert.equal(mode(lab.env.SWITCHYARD_LOG_FILE), 0o600, 'log file');
      const store = path.join(lab.ipamDir, 'win-bridge', 'cbr0');
      for (const f of fs.readdirSync(store)) assert.equal(mode(path.join(store, f)), 0o600, `IPAM file ${f}`);
      assert.equal(runSync('win-bridge', lab, { ...DEL('m1', ns), CNI_PATH }, conf).code, 0);
    });
  });
}

// The symlink rules under both umasks too: a create that honoured the umask would still be a create.
for (const umask of [0o000, 0o022]) describeSymlinkRules(umask);

function describeSymlinkRules(umask: number): void {
  describe(`no create follows a symlink (umask ${umask.toString(8).padStart(3, '0')})`, () => {
    let lab: RelLab;
    let ns: string[];
    let saved: number;
    before(() => (saved = process.umask(umask)));
    after(() => process.umask(saved));
    beforeEach(async () => {
      lab = await makeRelLab();
      ns = await namespaces(lab, 1);
    });
    afterEach(() => lab.cleanup());
    const conf = () => netconf(lab, 'win-bridge', 'switchyard-ipam');

    it('a symlinked state lock is refused and its target never created', () => {
      const victim = path.join(lab.dir, 'victim-lock');
      fs.rmSync(lab.state + '.lock', { force: true });
      fs.symlinkSync(victim, lab.state + '.lock');
      const r = runSync('win-bridge', lab, { ...ADD('s1', ns[0]), CNI_PATH }, conf());
      assert.equal(r.code, 1, r.stdout);
      assert.equal(fs.existsSync(victim), false);
    });

    it('a symlinked state file is refused, not followed and not replaced', () => {
      const real = path.join(lab.dir, 'elsewhere.json');
      fs.renameSync(lab.state, real);
      fs.symlinkSync(real, lab.state);
      const before = fs.readFileSync(real, 'utf8');
      const r = runSync('win-bridge', lab, { ...ADD('s2', ns[0]), CNI_PATH }, conf());
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.json().msg, /symbolic link|ELOOP/);
      assert.ok(fs.lstatSync(lab.state).isSymbolicLink(), 'the link is still a link');
      assert.equal(fs.readFileSync(real, 'utf8'), before);
    });

    it('symlinked IPAM lock and last_reserved_ip files are refused and their targets never written', () => {
      const store = path.join(lab.ipamDir, 'win-bridge', 'cbr0');
      fs.mkdirSync(store, { recursive: true });
      const victim = path.join(lab.dir, 'victim-ipam');
      fs.symlinkSync(victim, path.join(store, 'lock'));
      let r = runSync('win-bridge', lab, { ...ADD('s3', ns[0]), CNI_PATH }, conf());
      assert.equal(r.code, 1, r.stdout);
      assert.equal(fs.existsSync(victim), false);
      fs.rmSync(path.join(store, 'lock'));
      fs.writeFileSync(victim, 'keep');
      fs.symlinkSync(victim, path.join(store, 'last_reserved_ip.0'));
      r = runSync('win-bridge', lab, { ...ADD('s4', ns[0]), CNI_PATH }, conf());
      assert.equal(r.code, 1, r.stdout);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'keep');
      assert.deepEqual(
        fs.readdirSync(store).filter((f) => f.startsWith('10.')),
        [],
        'a refused ADD leaves no reservation',
      );
    });

    it('a symlinked log file is not followed; the call still works', () => {
      const victim = path.join(lab.dir, 'victim-log');
      const log = path.join(lab.dir, 'cni.log');
      fs.symlinkSync(victim, log);
      lab.env.SWITCHYARD_LOG_FILE = log;
      const r = runSync('win-bridge', lab, { ...ADD('s5', ns[0]), CNI_PATH }, conf());
      assert.equal(r.code, 0, r.stdout);
      assert.equal(fs.existsSync(victim), false);
      assert.match(r.stderr, /not logging/);
    });
  });
}
