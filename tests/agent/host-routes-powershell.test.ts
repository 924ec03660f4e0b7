/**
 * The powershell data plane's host routes: each call is one constant Invoke-SwitchyardHnsOperation line whose
 * route travels base64-encoded in the payload (never spliced into the script), and the module's answers map to
 * the route table contract (a list, not-found, already-exists). Get-NetRoute/New-NetRoute themselves exist only
 * on Windows; here a fake session answers as the module does.
 */
import { strict as assert } from 'node:assert';
import { PowerShellDataplane } from '../../src/dataplane/windows/powershell';
import { parseCommand } from '../../src/dataplane/windows/powershell/command';
import type { PsShell } from '../../src/dataplane/windows/powershell/shell';
import { isHnsError } from '../../src/hns/errors';

describe('powershell data plane: host routes as data', () => {
  const scripts: string[] = [];
  let answer = '{"Success":true,"Output":null}';
  const shell = (): PsShell => ({
    invoke: async (s) => {
      scripts.push(s);
      return /^Import-Module/.test(s) ? '' : answer;
    },
    dispose: async () => undefined,
  });
  const plane = () => new PowerShellDataplane({ shell, modulePath: '/nonexistent/Switchyard.Hns.psd1', timeoutMs: 5000 });

  it("sends New-NetRoute's route as base64 data, whatever characters it holds", async () => {
    scripts.length = 0;
    const hostile = {
      destinationPrefix: '10.244.3.0/24',
      nextHop: '192.168.1.24',
      interfaceAlias: "vEthernet (x'); Remove-Item C:\\ -Recurse; ('",
    };
    await plane().hostRoutes.add(hostile);
    const line = scripts.find((s) => !/^Import-Module/.test(s))!;
    assert.doesNotMatch(line, /Remove-Item/);
    const parsed = parseCommand(line)!;
    assert.equal(parsed.operation, 'NewHostRoute');
    assert.deepEqual(JSON.parse(parsed.payload.Settings!), hostile);
  });

  it('lists routes from the envelope and maps the module’s not-found', async () => {
    answer =
      '{"Success":true,"Output":[{"destinationPrefix":"10.244.3.0/24","nextHop":"192.168.1.24","interfaceAlias":"vEthernet (Ethernet)","metric":0}]}';
    const p = plane();
    assert.deepEqual(await p.hostRoutes.list(), [
      { destinationPrefix: '10.244.3.0/24', nextHop: '192.168.1.24', interfaceAlias: 'vEthernet (Ethernet)', metric: 0 },
    ]);
    answer = '{"Success":false,"Error":"no route 10.244.9.0/24 via 1.2.3.4","ErrorCode":2147943568,"Call":"Remove-NetRoute","Record":null}';
    await assert.rejects(
      p.hostRoutes.delete({ destinationPrefix: '10.244.9.0/24', nextHop: '1.2.3.4' }),
      (e: unknown) => isHnsError(e) && e.kind === 'not-found',
    );
    answer = '{"Success":true,"Output":null}';
  });
});
