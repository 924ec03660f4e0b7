/** Shared helpers for the memory data-plane tests: temp state files and documents (HRESULT assertions: tests/helpers). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostComputeNetwork } from '../../../src/hns';
import { openMemory } from '../../../src/dataplane/memory';
import type { MemoryHns } from '../../../src/dataplane/memory';
import type { HnsVersion } from '../../../src/hns';

export interface TempState {
  dir: string;
  statePath: string;
  open(version?: HnsVersion, env?: NodeJS.ProcessEnv): MemoryHns;
  cleanup(): void;
}

export function tempState(): TempState {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-memory-'));
  const statePath = path.join(dir, 'state', 'hns.json');
  return {
    dir,
    statePath,
    open: (version, env = {}) => openMemory({ statePath, emulatedVersion: version, env }),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export { rejectsWith } from '../../helpers/hns-errors';

export const GUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

export function l2bridge(name = 'cbr0', prefix = '10.244.1.0/24', gateway = '10.244.1.1'): HostComputeNetwork {
  return {
    Name: name,
    Type: 'L2Bridge',
    Ipams: [{ Type: 'Static', Subnets: [{ IpAddressPrefix: prefix, Routes: [{ NextHop: gateway, DestinationPrefix: '0.0.0.0/0' }] }] }],
    SchemaVersion: { Major: 2, Minor: 0 },
  };
}

export function overlay(name = 'flannel.4096', prefix = '10.244.1.0/24', gateway = '10.244.1.1', vsid = 4096): HostComputeNetwork {
  return {
    Name: name,
    Type: 'Overlay',
    Flags: 8,
    Ipams: [
      {
        Type: 'Static',
        Subnets: [
          {
            IpAddressPrefix: prefix,
            Routes: [{ NextHop: gateway, DestinationPrefix: '0.0.0.0/0' }],
            Policies: [{ Type: 'VSID', Settings: { IsolationId: vsid } }],
          },
        ],
      },
    ],
    SchemaVersion: { Major: 2, Minor: 0 },
  };
}
