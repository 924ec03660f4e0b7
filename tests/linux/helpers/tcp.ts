/**
 * Tiny TCP peers for root tests, run inside lab namespaces with `ip netns exec`:
 *   node tcp.js serve <port> <name>   → answers each connection with "<name> <peer address>"
 *   node tcp.js get <host> <port>     → prints the answer (exit 1 on error or after 3 s)
 */
import * as net from 'node:net';

const [mode, a, b] = process.argv.slice(2);
if (mode === 'serve') {
  const server = net.createServer((s) => s.end(`${b} ${s.remoteAddress?.replace(/^::ffff:/, '')}`));
  server.listen(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'get') {
  const s = net.connect({ host: a, port: Number(b) });
  let out = '';
  const timer = setTimeout(() => process.exit(1), 3000);
  s.on('data', (d) => (out += d.toString()));
  s.on('end', () => {
    clearTimeout(timer);
    process.stdout.write(out + '\n');
  });
  s.on('error', () => process.exit(1));
} else {
  process.stderr.write('usage: tcp.js serve <port> <name> | get <host> <port>\n');
  process.exit(2);
}
