/**
 * The fake API server as a process, for `switchyard lab up --subnet-source kubernetes`: listens on 127.0.0.1
 * (free port), creates the Node objects of argv[3] (a JSON list), writes its URL to argv[2] once it serves,
 * and runs until SIGTERM. A lab tool (no authorization, no persistence), never a cluster's API server.
 *
 *   node main.js <url-file> <nodes.json>
 */
import * as fs from 'node:fs';
import { FakeApiServer } from './server';

async function main(): Promise<void> {
  const [urlFile, nodesFile] = process.argv.slice(2);
  if (!urlFile || !nodesFile) {
    process.stderr.write('usage: main.js <url-file> <nodes.json>\n');
    process.exit(2);
  }
  const server = new FakeApiServer({ bookmarkMs: 5000 });
  const nodes = JSON.parse(fs.readFileSync(nodesFile, 'utf8')) as Record<string, unknown>[];
  for (const n of nodes) server.create('nodes', n);
  const url = await server.start();
  fs.writeFileSync(`${urlFile}.tmp`, url);
  fs.renameSync(`${urlFile}.tmp`, urlFile);
  process.stdout.write(`fake API server on ${url} with ${nodes.length} nodes\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`fake API server: ${(e as Error).message}\n`);
  process.exit(1);
});
