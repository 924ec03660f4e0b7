/**
 * A second process for the stub's HCNSTUB_STATE_FILE test: opens the hcn data plane over the stub, prints
 * the networks it sees as JSON, and deletes the one named by argv[2] if given.
 */
import * as path from 'node:path';
import { open } from '../../../src/dataplane/windows/hcn';
import { resolveOptions } from '../../../src/dataplane/factory';
import { buildQuery } from '../../../src/hns';

(async () => {
  const lib = path.resolve(__dirname, '../../../../native/build/libhcnstub.so');
  const hns = await open(resolveOptions({ kind: 'hcn', hcnLibrary: lib, statePath: '/nonexistent', env: {} }));
  const nets = await hns.listNetworks();
  process.stdout.write(JSON.stringify(nets.map((n) => ({ ID: n.ID, Name: n.Name }))) + '\n');
  const name = process.argv[2];
  if (name) for (const n of await hns.listNetworks(buildQuery({ Name: name }))) await hns.deleteNetwork(n.ID!);
  await hns.close();
})().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
