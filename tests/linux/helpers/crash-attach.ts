/**
 * Child process for the crash test: opens the node's linux data plane (from the environment), creates an
 * endpoint and attaches it to argv[2]; SWITCHYARD_FAILPOINT makes it die by SIGKILL right after the links exist.
 */
import { openDataplane } from '../../../src/dataplane/factory';

async function main(): Promise<void> {
  const [netns, networkId] = process.argv.slice(2);
  const dp = await openDataplane({ kind: 'linux' });
  const ep = await dp.createEndpoint(networkId, { Name: 'crash-victim' });
  await dp.attachEndpoint(netns, ep.ID!, { interfaceName: 'eth0' });
  process.stdout.write('attached (the failpoint did not fire)\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
