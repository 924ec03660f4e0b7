/**
 * The host-local on-disk store (plugins/ipam/host-local/backend/disk), byte-compatible so Switchyard and
 * the reference host-local can share one directory:
 * `<dataDir>/<network>/<ip>` (create-exclusive, 0600, content `<containerID>\r\n<ifname>`, `:`→`_` on
 * Windows), `last_reserved_ip.<rangeIndex>`, and the `lock` file (flock / LockFileEx via file-lock.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withFileLock } from '../../util/file-lock';
import { formatIp as formatIP, parseIpGo as parseIP, type IP } from '../../net/ip';

export const LINE_BREAK = '\r\n';
const LAST_IP_PREFIX = 'last_reserved_ip.';

export interface Reservation {
  ip: IP;
  file: string;
  containerID: string;
  /** Absent in legacy files that hold only the container ID. */
  ifname?: string;
}

export class DiskStore {
  readonly dir: string;

  constructor(dataDir: string, network: string) {
    this.dir = path.join(dataDir, network);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o755 });
  }

  private fileFor(name: string): string {
    return path.join(this.dir, process.platform === 'win32' ? name.replace(/:/g, '_') : name);
  }

  /** Runs fn holding the store's `lock` file exclusively (interoperates with host-local's flock). */
  locked<T>(fn: () => Promise<T> | T): Promise<T> {
    return withFileLock(path.join(this.dir, 'lock'), fn);
  }

  /** false when the address is already taken (the file exists). */
  reserve(id: string, ifname: string, ip: IP, rangeID: string): boolean {
    const file = this.fileFor(formatIP(ip));
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      fs.writeSync(fd, id.trim() + LINE_BREAK + ifname);
      fs.closeSync(fd);
    } catch (e) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      fs.rmSync(file, { force: true });
      throw e;
    }
    fs.writeFileSync(this.fileFor(LAST_IP_PREFIX + rangeID), formatIP(ip), { mode: 0o600 });
    return true;
  }

  lastReservedIP(rangeID: string): IP | undefined {
    try {
      return parseIP(fs.readFileSync(this.fileFor(LAST_IP_PREFIX + rangeID), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Every reservation file in the directory (lock, last_reserved_ip.* and temp files are skipped). */
  list(): Reservation[] {
    const out: Reservation[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (name === 'lock' || name.startsWith(LAST_IP_PREFIX) || name.startsWith('.')) continue;
      const ip = parseIP(process.platform === 'win32' ? name.replace(/_/g, ':') : name);
      if (!ip) continue;
      const file = path.join(this.dir, name);
      let content: string;
      try {
        content = fs.readFileSync(file, 'utf8').trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') continue;
        throw e;
      }
      const nl = content.indexOf(LINE_BREAK);
      out.push(
        nl < 0
          ? { ip, file, containerID: content }
          : { ip, file, containerID: content.slice(0, nl).trim(), ifname: content.slice(nl + 2).trim() },
      );
    }
    return out;
  }

  private matching(id: string, ifname: string): { exact: Reservation[]; legacy: Reservation[] } {
    const all = this.list();
    const wanted = id.trim();
    return {
      exact: all.filter((r) => r.ifname !== undefined && r.containerID === wanted && r.ifname === ifname),
      legacy: all.filter((r) => r.ifname === undefined && r.containerID === wanted),
    };
  }

  /** Addresses held by (id, ifname), either form. */
  getByID(id: string, ifname: string): IP[] {
    const m = this.matching(id, ifname);
    return [...m.exact, ...m.legacy].map((r) => r.ip);
  }

  /** ReleaseByID: exact `id\r\nifname` files first; the legacy `id` form only when none matched. */
  releaseByID(id: string, ifname: string): boolean {
    const m = this.matching(id, ifname);
    const victims = m.exact.length > 0 ? m.exact : m.legacy;
    for (const r of victims) fs.rmSync(r.file, { force: true });
    return victims.length > 0;
  }

  release(ip: IP): void {
    fs.rmSync(this.fileFor(formatIP(ip)), { force: true });
  }
}
