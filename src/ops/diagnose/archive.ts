/**
 * Writes the bundle: tar.gz (the `tar` package) or zip (`yazl`), from in-memory entries. Every entry lives
 * under one top directory so unpacking does not spill files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Entry {
  /** Path inside the bundle, '/'-separated. */
  name: string;
  data: string | Buffer;
}

export type ArchiveFormat = 'tar.gz' | 'zip';

export function formatOf(file: string): ArchiveFormat | undefined {
  if (/\.(tar\.gz|tgz)$/i.test(file)) return 'tar.gz';
  if (/\.zip$/i.test(file)) return 'zip';
  return undefined;
}

export async function writeArchive(file: string, top: string, entries: Entry[], format: ArchiveFormat): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    if (format === 'zip') await writeZip(tmp, top, entries);
    else await writeTarGz(tmp, top, entries);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

async function writeTarGz(file: string, top: string, entries: Entry[]): Promise<void> {
  const tar = require('tar') as typeof import('tar');
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-diagnose-'));
  try {
    for (const e of entries) {
      const p = path.join(stage, top, ...e.name.split('/'));
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, e.data, { mode: 0o600 });
    }
    await tar.create({ gzip: true, file, cwd: stage, portable: true }, [top]);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

interface YazlZipFile {
  addBuffer(data: Buffer, name: string, opts?: { mtime?: Date; mode?: number }): void;
  end(): void;
  outputStream: NodeJS.ReadableStream;
}

async function writeZip(file: string, top: string, entries: Entry[]): Promise<void> {
  const yazl = require('yazl') as { ZipFile: new () => YazlZipFile };
  const zip = new yazl.ZipFile();
  for (const e of entries)
    zip.addBuffer(Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8'), `${top}/${e.name}`, { mode: 0o100600 });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(file, { mode: 0o600 });
    zip.outputStream
      .pipe(out)
      .on('close', () => resolve())
      .on('error', reject);
    zip.outputStream.on('error', reject);
  });
}
