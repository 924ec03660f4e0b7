/**
 * Stands in for PowerShell + the Switchyard.Hns module in tests (no pwsh on the CI machines): accepts only
 * the two script shapes the data plane may send (the base64 Import-Module line and
 * `Invoke-SwitchyardHnsOperation -Operation '<op>' -EncodedJson '<base64>'`), decodes the payload and runs
 * the operation on the memory data plane, answering with the module's envelope. Anything else is refused,
 * so a test fails if the data plane ever sends other text.
 */
import type { PsShell } from '../../../src/dataplane/windows/powershell/shell';
import { parseCommand, type PsOperation, type PsPayload } from '../../../src/dataplane/windows/powershell/command';
import type { HostNetworkService } from '../../../src/dataplane/types';
import { HnsError, parseHnsJson, stringifyHnsJson } from '../../../src/hns';

const IMPORT =
  /^Import-Module -Name \(\[System\.Text\.Encoding\]::UTF8\.GetString\(\[System\.Convert\]::FromBase64String\('([A-Za-z0-9+/]*={0,2})'\)\)\) -Force -ErrorAction Stop$/;

export interface FakeShellLog {
  scripts: string[];
  imported: string[];
  disposed: number;
  sessions: number;
}

export interface FakeShellOptions {
  /** Operations that never answer (to test timeouts). */
  hang?: Set<PsOperation>;
  /** Operations during which the PowerShell process dies (the session's invoke rejects). */
  crash?: Set<PsOperation>;
  /** The first N sessions fail to start (import rejects as node-powershell does for a missing executable). */
  failStarts?: number;
}

export function fakeShellFactory(hns: HostNetworkService, log: FakeShellLog, opts: FakeShellOptions = {}): () => PsShell {
  return () => {
    log.sessions++;
    let alive = true;
    const failStart = (opts.failStarts ?? 0) >= log.sessions;
    return {
      async invoke(script: string): Promise<string> {
        if (!alive) throw new Error('session disposed');
        log.scripts.push(script);
        const imp = IMPORT.exec(script);
        if (imp && failStart) throw new Error('Shell process exited.\nspawn pwsh ENOENT');
        if (imp) {
          log.imported.push(Buffer.from(imp[1], 'base64').toString('utf8'));
          return '';
        }
        const cmd = parseCommand(script);
        if (!cmd) throw new Error(`fake PowerShell refuses unexpected script text: ${script}`);
        if (opts.hang?.has(cmd.operation)) return new Promise<string>(() => undefined);
        if (opts.crash?.has(cmd.operation)) {
          alive = false;
          throw new Error('Shell process exited.');
        }
        return envelope(await dispatch(hns, cmd.operation, cmd.payload));
      },
      async dispose(): Promise<void> {
        alive = false;
        log.disposed++;
      },
    };
  };
}

type Result = { ok: true; output: unknown } | { ok: false; error: unknown };

/** As the module does (ConvertTo-SwitchyardAsciiJson): stdout carries ASCII only. */
const ascii = (s: string) => s.replace(/[^\x00-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function envelope(r: Result): string {
  return ascii(rawEnvelope(r));
}

function rawEnvelope(r: Result): string {
  if (r.ok) return `{"Success":true,"Output":${r.output === undefined ? 'null' : stringifyHnsJson(r.output)}}\n`;
  const e = r.error;
  if (e instanceof HnsError) {
    return (
      JSON.stringify({
        Success: false,
        Error: e.message,
        ErrorCode: e.hresult,
        Call: e.call ?? null,
        Record: JSON.stringify(e.toErrorRecord()),
      }) + '\n'
    );
  }
  return (
    JSON.stringify({ Success: false, Error: String((e as Error)?.message ?? e), ErrorCode: 0x80004005, Call: null, Record: null }) + '\n'
  );
}

const doc = <T>(text: string | undefined): T => parseHnsJson<T>(text ?? '{}');

async function dispatch(h: HostNetworkService, op: PsOperation, p: PsPayload): Promise<Result> {
  try {
    const withId = <T extends object>(d: T): T => (p.Id ? { ...d, ID: p.Id } : d);
    let output: unknown;
    switch (op) {
      case 'GetVersion':
        output = await h.version();
        break;
      case 'V1Request':
        try {
          output = {
            Success: true,
            Output: await h.v1!.call((p.Method ?? 'GET') as 'GET', p.Path ?? '/', p.Request ? doc(p.Request) : undefined),
          };
        } catch (e) {
          if (!(e instanceof HnsError)) throw e;
          output = { Success: false, Error: e.message, ErrorCode: e.hresult };
        }
        break;
      case 'ModifyContainerNetwork':
        if (!h.v1?.modifyContainerNetwork) throw new HnsError(0x80004001, 'no HCS behind the fake shell', { call: 'HcsOpenComputeSystem' });
        await h.v1.modifyContainerNetwork(p.ContainerId ?? '', p.Id ?? '', p.Request === 'Remove' ? 'Remove' : 'Add');
        output = null;
        break;
      case 'ListNetworks':
        output = await h.listNetworks(doc(p.Query));
        break;
      case 'GetNetwork':
        output = await h.getNetwork(p.Id!);
        break;
      case 'NewNetwork':
        output = await h.createNetwork(withId(doc(p.Settings)));
        break;
      case 'SetNetwork':
        output = await h.modifyNetwork(p.Id!, doc(p.Request));
        break;
      case 'RemoveNetwork':
        await h.deleteNetwork(p.Id!);
        break;
      case 'ListEndpoints':
        output = await h.listEndpoints(doc(p.Query));
        break;
      case 'GetEndpoint':
        output = await h.getEndpoint(p.Id!);
        break;
      case 'NewEndpoint':
        output = await h.createEndpoint(p.NetworkId!, withId(doc(p.Settings)));
        break;
      case 'SetEndpoint':
        output = await h.modifyEndpoint(p.Id!, doc(p.Request));
        break;
      case 'RemoveEndpoint':
        await h.deleteEndpoint(p.Id!);
        break;
      case 'ListNamespaces':
        output = await h.listNamespaces(doc(p.Query));
        break;
      case 'GetNamespace':
        output = await h.getNamespace(p.Id!);
        break;
      case 'NewNamespace':
        output = await h.createNamespace(withId(doc(p.Settings)));
        break;
      case 'SetNamespace':
        output = await h.modifyNamespace(p.Id!, doc(p.Request));
        break;
      case 'RemoveNamespace':
        await h.deleteNamespace(p.Id!);
        break;
      case 'ListLoadBalancers':
        output = await h.listLoadBalancers(doc(p.Query));
        break;
      case 'GetLoadBalancer':
        output = await h.getLoadBalancer(p.Id!);
        break;
      case 'NewLoadBalancer':
        output = await h.createLoadBalancer(withId(doc(p.Settings)));
        break;
      case 'SetLoadBalancer':
        output = await h.modifyLoadBalancer(p.Id!, doc(p.Settings));
        break;
      case 'RemoveLoadBalancer':
        await h.deleteLoadBalancer(p.Id!);
        break;
    }
    return { ok: true, output };
  } catch (error) {
    return { ok: false, error };
  }
}
