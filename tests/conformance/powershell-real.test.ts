/**
 * The powershell data plane end to end with real PowerShell: node-powershell → pwsh 7.6 (built from
 * Microsoft.PowerShell.SDK by scripts/setup-pwsh.sh) → ps-modules/Switchyard.Hns → Add-Type C# P/Invoke →
 * native/build/libhcnstub.so, loaded under the names the C# declares (computenetwork.dll, vmcompute.dll,
 * ole32.dll) by the module's NativeLibrary resolver from SWITCHYARD_HCN_LIBRARY. The shared conformance suite
 * runs in one long-lived pwsh session (the stub's state and its leak counters live in that process); after
 * every case the session's C# binding must have freed every string and closed every handle.
 * Skips, saying why, when the host was not built.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PowerShellDataplane, moduleManifest, open as openPowerShell } from '../../src/dataplane/windows/powershell';
import { nodePowerShell, type PsShell } from '../../src/dataplane/windows/powershell/shell';
import { resolveOptions } from '../../src/dataplane/factory';
import { buildQuery, type HostComputeNetwork } from '../../src/hns';

const ERROR_GEN_FAILURE = 0x8007001f;
import { STUB_LIBRARY } from '../abi/stub';
import { NO_PWSH, pwshEnv, realPwsh } from '../ps/pwsh';
import { runConformance, rejectsKind } from './suite';

const pwsh = realPwsh();
const MODULE = moduleManifest({});
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Test-only P/Invoke of the stub's counters, bound to the same library file (dlopen returns the same instance). */
const STUB_CONTROL = `
using System.Runtime.InteropServices;
public static class SwitchyardStubControl {
  const string Lib = "${STUB_LIBRARY}";
  [DllImport(Lib)] public static extern long HcnStubOutstandingAllocations();
  [DllImport(Lib)] public static extern long HcnStubBadFrees();
  [DllImport(Lib)] public static extern int HcnStubOpenHandles();
  [DllImport(Lib)] public static extern void HcnStubReset();
  [DllImport(Lib, CharSet = CharSet.Ansi)] public static extern int HcsStubCreateComputeSystem(string id);
  [DllImport(Lib, CharSet = CharSet.Ansi)] public static extern int HcsStubRemoveComputeSystem(string id);
}`;

let shared: PsShell | undefined;
/** One session for the whole suite; the data plane's dispose (close, or a timeout) does not end it. */
const sharedShell = (): PsShell => ({
  invoke: (script) => shared!.invoke(script),
  dispose: async () => undefined,
});
const control = async (expr: string): Promise<string> => (await shared!.invoke(`[SwitchyardStubControl]::${expr}`)).trim();

describe('powershell data plane under real PowerShell', function () {
  this.timeout(120_000);
  before(async function () {
    if (!pwsh) {
      console.log(`      skipped: ${NO_PWSH}`);
      this.skip();
    }
    shared = nodePowerShell({ executable: pwsh, timeoutMs: 60_000, env: pwshEnv({ SWITCHYARD_HCN_LIBRARY: STUB_LIBRARY }) });
    await shared.invoke(
      `Add-Type -TypeDefinition ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${b64(STUB_CONTROL)}')))`,
    );
    assert.equal(await control('HcnStubOpenHandles()'), '0');
  });
  after(async () => {
    await shared?.dispose();
  });

  it('hot-adds and removes a container network through the C# HCS binding (HcsModifyComputeSystem), HCS errors unsigned', async function () {
    await control('HcnStubReset()');
    const hns = new PowerShellDataplane({ shell: sharedShell, shellName: pwsh, modulePath: MODULE, timeoutMs: 60_000 });
    try {
      const pause = 'd'.repeat(64);
      assert.equal(await control(`HcsStubCreateComputeSystem('${pause}')`), '1');
      const net = await hns.createNetwork({ Name: 'hcs-ps', Type: 'L2Bridge', SchemaVersion: { Major: 2, Minor: 0 } });
      const ep = await hns.v1!.call<{ ID: string; SharedContainers?: string[] }>('POST', '/endpoints/', {
        Name: 'hcs-ps-ep',
        VirtualNetwork: net.ID,
      });
      await hns.v1!.modifyContainerNetwork!(pause, ep.ID, 'Add');
      const got = await hns.v1!.call<{ SharedContainers?: string[] }>('GET', `/endpoints/${ep.ID}`);
      assert.deepEqual(got.SharedContainers, [pause]);
      await hns.v1!.modifyContainerNetwork!(pause, ep.ID, 'Remove');
      const err = await rejectsKind(hns.v1!.modifyContainerNetwork!('e'.repeat(64), ep.ID, 'Add'), 'not-found');
      assert.equal(err.hresult, 0xc037010e, err.message);
      await hns.v1!.call('DELETE', `/endpoints/${ep.ID}`);
      await hns.deleteNetwork(net.ID!);
    } finally {
      await hns.close();
    }
    assert.equal(await control('HcnStubOpenHandles()'), '0', 'the compute-system handle was closed');
    assert.equal(await control('HcnStubOutstandingAllocations()'), '0', 'the HCS result document was freed');
  });

  runConformance(
    'powershell (real pwsh → Switchyard.Hns → C# P/Invoke → stub)',
    async () =>
      new PowerShellDataplane({
        shell: sharedShell,
        shellName: pwsh,
        modulePath: MODULE,
        timeoutMs: 60_000,
      }),
    {
      reset: async () => {
        await control('HcnStubReset()');
      },
      verify: async () => {
        assert.equal(await control('HcnStubOpenHandles()'), '0', 'every handle the C# binding opened was closed');
        assert.equal(await control('HcnStubOutstandingAllocations()'), '0', 'every string the stub returned was freed with CoTaskMemFree');
        assert.equal(await control('HcnStubBadFrees()'), '0', 'nothing freed that the stub did not allocate');
      },
      // The shared HCS attach case through the C# binding; container IDs in the case are hex digits only.
      computeSystems: () => ({
        create: async (id) => assert.equal(await control(`HcsStubCreateComputeSystem('${id}')`), '1'),
        remove: async (id) => assert.equal(await control(`HcsStubRemoveComputeSystem('${id}')`), '1'),
      }),
    },
  );
});

describe('powershell data plane under real PowerShell: its own session (open(), environment, failures)', function () {
  this.timeout(120_000);
  let dir = '';
  before(function () {
    if (!pwsh) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-ps-real-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const openReal = (extra: Record<string, string> = {}) =>
    openPowerShell(
      resolveOptions({
        kind: 'powershell',
        env: pwshEnv({ SWITCHYARD_PWSH: pwsh!, SWITCHYARD_HCN_LIBRARY: STUB_LIBRARY, ...extra }),
      }),
    );

  it('creates what it is given for every injection-corpus name and runs none of it (the canary file is never made)', async function () {
    const canary = path.join(dir, 'canary');
    const touch = `New-Item -ItemType File -Path '${canary}'`;
    const corpus = [
      `it's`,
      `a'; ${touch}; '`,
      `"; ${touch}; "`,
      `$(${touch})`,
      `\`$(${touch})\``,
      `x\`'; ${touch}; \`'`,
      `line1\n${touch}\r\nline3`,
      `@'\nhere\n'@; ${touch}`,
      `\u2018; ${touch}; \u2019`,
      `\u201C; ${touch}; \u201D`,
      `--% ; ${touch}`,
      `| ${touch}`,
      `& { ${touch} }`,
      `\${env:PATH}; ${touch}`,
      'emoji 🚀 and 网络 and é',
    ];
    const hns = await openReal();
    try {
      for (const [i, name] of corpus.entries()) {
        const doc: HostComputeNetwork = {
          Name: name,
          Type: 'L2Bridge',
          SchemaVersion: { Major: 2, Minor: 0 },
          Ipams: [
            {
              Type: 'Static',
              Subnets: [
                { IpAddressPrefix: `10.${100 + i}.0.0/24`, Routes: [{ NextHop: `10.${100 + i}.0.1`, DestinationPrefix: '0.0.0.0/0' }] },
              ],
            },
          ],
        };
        const created = await hns.createNetwork(doc);
        assert.equal(created.Name, name, 'the name comes back exactly');
        const found = await hns.listNetworks(buildQuery({ Name: name }));
        assert.deepEqual(
          found.map((n) => n.ID),
          [created.ID],
          `a query by the name finds it: ${JSON.stringify(name)}`,
        );
        await hns.deleteNetwork(created.ID!);
      }
    } finally {
      await hns.close();
    }
    assert.equal(fs.existsSync(canary), false, 'nothing a caller supplied ran as PowerShell');
  });

  it('reports an error record returned with S_OK as ERROR_GEN_FAILURE (0x8007001F), as hcsshim does', async function () {
    const hns = await openReal({ HCNSTUB_RECORD_ON_SUCCESS: 'HcnQueryNetworkProperties' });
    try {
      const err = await rejectsKind(hns.createNetwork({ Name: 'rec', Type: 'NAT', SchemaVersion: { Major: 2, Minor: 0 } }), 'failure');
      assert.equal(err.hresult, ERROR_GEN_FAILURE, err.message);
      assert.equal(err.call, 'HcnQueryNetworkProperties');
      assert.ok(err.record && JSON.parse(err.record).Success === false, 'keeps the raw record');
    } finally {
      await hns.close();
    }
  });

  it('is "unavailable", naming the executable, when PowerShell cannot start', async function () {
    const hns = await openPowerShell(resolveOptions({ kind: 'powershell', env: { SWITCHYARD_PWSH: path.join(dir, 'no-such-pwsh') } }));
    try {
      const err = await rejectsKind(hns.listNetworks(), 'unavailable');
      assert.match(err.message, /no-such-pwsh/);
    } finally {
      await hns.close();
    }
  });
});
