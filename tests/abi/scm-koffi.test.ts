/**
 * The koffi advapi32 adapter (src/service/scm-koffi.ts) driven by the Windows installer against
 * native/build/libadvapi-stub.so, which exports the same service functions and decodes the Windows x64
 * structures in C: what reaches "the SCM" is read back from the stub's own JSON (AdvapiStubState), not through
 * the adapter, so a wrong layout (SERVICE_FAILURE_ACTIONSW, QUERY_SERVICE_CONFIGW, SERVICE_STATUS_PROCESS), a
 * wrong string encoding or a broken double-NUL dependency list shows up here.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Plan } from '../../src/service/common';
import { openKoffiScm } from '../../src/service/scm-koffi';
import { ScmError } from '../../src/service/scm';
import { DESCRIPTION, DISPLAY_NAME, WindowsScmBackend } from '../../src/service/windows-scm';
import type { AgentCleanup } from '../../src/service/purge';

const STUB = path.resolve(__dirname, '../../../native/build/libadvapi-stub.so');
const HOST_EXE = 'C:\\Program Files\\Switchyard ü 🚀\\switchyard-service.exe';
const noCleanup: AgentCleanup = { unavailable: async () => 'none', run: async () => '', describe: () => [] };

describe('scm-koffi: the advapi32 adapter against the C stub', function () {
  let stub: { reset: () => void; seed: (n: string, d: string) => void; state: () => Record<string, any> };
  let dir: string;
  let root: string;
  const env = { SWITCHYARD_ADVAPI32_LIBRARY: STUB };

  before(function () {
    if (!fs.existsSync(STUB)) this.skip();
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load(STUB);
    const reset = lib.func('void AdvapiStubReset(void)') as () => void;
    const seed = lib.func('void AdvapiStubSeed(const char *name, const char *deps)') as (n: string, d: string) => void;
    const state = lib.func('const char *AdvapiStubState(void)') as () => string;
    stub = { reset, seed, state: () => JSON.parse(state()) };
  });

  beforeEach(() => {
    stub.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-advapi-'));
    root = path.join(dir, 'root');
    const host = path.join(root, 'C', 'Program Files', 'Switchyard ü 🚀', 'switchyard-service.exe');
    fs.mkdirSync(path.dirname(host), { recursive: true });
    fs.writeFileSync(host, 'MZ');
    fs.writeFileSync(path.join(dir, 'agent.yaml'), 'nodeName: w\n');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const backend = () =>
    new WindowsScmBackend({ scm: openKoffiScm(env), root, programData: 'C:\\ProgramData', hostExe: HOST_EXE, sleep: async () => {} });
  const req = () => ({
    configFile: path.join(dir, 'agent.yaml'),
    configInPlace: false,
    stopTimeoutSec: 30,
    nodePath: 'C:\\node\\node.exe',
    cliPath: 'C:\\sy\\main.js',
  });

  it("install: CreateServiceW, the three ChangeServiceConfig2W structures and kubelet's dependency list arrive as Windows would decode them", async () => {
    stub.seed('hns', '');
    stub.seed('kubelet', 'containerd|other');
    await backend().install(req(), new Plan(false));
    const s = stub.state();
    assert.deepEqual(s['switchyard-agent'], {
      display: DISPLAY_NAME,
      binpath: `"${HOST_EXE}" --conf C:\\ProgramData\\Switchyard\\service-host.conf`,
      deps: 'hns',
      description: DESCRIPTION,
      type: 0x10,
      start: 2,
      error: 1,
      state: 4,
      flag: 1,
      reset: 86400,
      actions: [
        [1, 5000],
        [1, 5000],
        [1, 5000],
      ],
    });
    assert.equal(s.kubelet.deps, 'containerd|other|switchyard-agent');
  });

  it('QueryServiceConfigW and QueryServiceStatusEx decode: a second install finds nothing to change', async () => {
    stub.seed('kubelet', 'containerd');
    await backend().install(req(), new Plan(false));
    const plan = new Plan(false);
    await backend().install(req(), plan);
    assert.ok(plan.lines.includes('service switchyard-agent: configuration unchanged'), plan.lines.join('\n'));
    assert.ok(plan.lines.includes('kubelet: already depends on switchyard-agent'));
    assert.ok(plan.lines.includes('service switchyard-agent: running, nothing changed'));
    const st = await backend().status();
    assert.equal(st.state, 'running');
    assert.ok(st.pid && st.pid >= 500);
    assert.equal(st.details.ImagePath, `"${HOST_EXE}" --conf C:\\ProgramData\\Switchyard\\service-host.conf`);
  });

  it('uninstall: ControlService, DeleteService, and kubelet keeps its other dependencies', async () => {
    stub.seed('kubelet', 'containerd|other');
    await backend().install(req(), new Plan(false));
    await backend().uninstall({ purge: false }, new Plan(false), noCleanup);
    const s = stub.state();
    assert.equal(s['switchyard-agent'], undefined);
    assert.equal(s.kubelet.deps, 'containerd|other');
  });

  it('GetLastError reaches the adapter: a missing service is undefined, a duplicate create is ScmError 1073', () => {
    const scm = openKoffiScm(env);
    const m = scm.openManager();
    assert.equal(scm.openService(m, 'nope'), undefined);
    stub.seed('dup', '');
    assert.throws(
      () =>
        scm.createService(m, 'dup', {
          serviceType: 0x10,
          startType: 3,
          errorControl: 1,
          binaryPath: 'x',
          displayName: 'x',
          dependencies: [],
        }),
      (e: unknown) => e instanceof ScmError && e.code === 1073 && /CreateServiceW\(dup\)/.test(e.message),
    );
  });
});
