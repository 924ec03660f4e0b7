/** The shared host network service contract against the memory data plane (the HNS emulator). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from '../../src/dataplane/memory';
import { resolveOptions } from '../../src/dataplane/factory';
import { runConformance } from './suite';
import type { MemoryHns } from '../../src/dataplane/memory';

let dir: string | undefined;

runConformance(
  'memory (HNS emulator)',
  async () => open(resolveOptions({ kind: 'memory', statePath: path.join(dir!, 'hns.json'), env: {} })),
  {
    reset: () => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-conf-mem-'));
    },
    computeSystems: (hns) => ({
      create: (id) => (hns as MemoryHns).hcs.createComputeSystem(id),
      remove: (id) => (hns as MemoryHns).hcs.removeComputeSystem(id),
    }),
  },
);

after(function () {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
