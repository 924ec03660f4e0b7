/**
 * The lab's etcd: Debian's /usr/bin/etcd (package etcd-server; SWITCHYARD_ETCD_BIN overrides) as one member
 * on 127.0.0.1 with free client and peer ports and its data dir under the lab's state dir. It runs in the
 * host namespace: the lab's agents run as host processes too (only their data plane enters the node
 * namespace through SWITCHYARD_LINUX_NETNS), so 127.0.0.1 reaches it and nothing listens on the underlay.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { type LabProcess, startProcess, stopProcess, waitUntil } from './processes';

export const etcdBinary = (env: NodeJS.ProcessEnv = process.env): string => env.SWITCHYARD_ETCD_BIN ?? '/usr/bin/etcd';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function etcdHealthy(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export interface LabEtcd {
  endpoint: string;
  dataDir: string;
  process: LabProcess;
}

/** Starts etcd (data in `<dir>/etcd`, log `<dir>/etcd.log`) and resolves once /health says true. */
export async function startLabEtcd(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<LabEtcd> {
  const bin = etcdBinary(env);
  if (!fs.existsSync(bin)) throw new Error(`etcd: ${bin} is missing (Debian: apt-get install etcd-server, or set SWITCHYARD_ETCD_BIN)`);
  let last: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const endpoint = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const dataDir = path.join(dir, 'etcd');
    fs.rmSync(dataDir, { recursive: true, force: true });
    const proc = startProcess(
      'etcd',
      // prettier-ignore
      [bin, '--name', 'lab', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `lab=${peerUrl}`,
        '--initial-cluster-state', 'new', '--log-level', 'warn'],
      { log: path.join(dir, 'etcd.log'), env },
    );
    try {
      await waitUntil(proc, 'healthy', () => etcdHealthy(endpoint), 20_000);
      return { endpoint, dataDir, process: proc };
    } catch (e) {
      last = e as Error; // most likely a port taken between probing and binding: try new ports
      await stopProcess(proc, 'SIGKILL');
    }
  }
  throw last ?? new Error('etcd did not start');
}
