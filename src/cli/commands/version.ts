/** switchyard version: data plane, HNS version and the features it implies. */
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatVersion, type HnsFeatures, type HnsVersion } from '../../hns/version';
import { withService, format, print } from '../context';
import { toJson, toYaml } from '../output';

export interface VersionInfo {
  Switchyard: string;
  Dataplane: string;
  HnsVersion: HnsVersion;
  Features: HnsFeatures;
}

export function ownVersion(): string {
  try {
    // dist/src/cli/commands → the package root
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../../package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function register(program: Command): void {
  program
    .command('version')
    .description('show the data plane, the HNS version and its features')
    .option('-o, --output <format>', 'table|json|yaml', 'table')
    .action(async (_opts: unknown, cmd: Command) => {
      const fmt = format(cmd);
      await withService(cmd, async (svc) => {
        const info: VersionInfo = {
          Switchyard: ownVersion(),
          Dataplane: svc.kind,
          HnsVersion: await svc.version(),
          Features: await svc.features(),
        };
        if (fmt === 'json') return print(toJson(info));
        if (fmt === 'yaml') return print(toYaml(info));
        const on = Object.entries(info.Features)
          .filter(([, ok]) => ok)
          .map(([f]) => f);
        const off = Object.entries(info.Features)
          .filter(([, ok]) => !ok)
          .map(([f]) => f);
        print(
          `Switchyard:   ${info.Switchyard}\nData plane:   ${info.Dataplane}\nHNS version:  ${formatVersion(info.HnsVersion)}\n` +
            `Features:     ${on.join(', ') || '-'}\nUnsupported:  ${off.join(', ') || '-'}\n`,
        );
      });
    });
}
