/**
 * The CNI dispatcher, behaving as the reference's pkg/skel (cni v1.3.0): environment checks and their
 * codes (4 missing/invalid variables, 5 stdin, 6 decoding, 7 network name, 1 version), the per-command
 * version gates (CHECK ≥ 0.4.0, STATUS/GC ≥ 1.1.0), VERSION output, the "about" text when CNI_COMMAND is
 * unset, and plain handler errors becoming code 999. Pure: the caller supplies env and stdin and writes
 * the outcome.
 */
import { CniError, ErrCode, toCniError } from './errors';
import { GoJsonSyntaxError, parseGoJson, type JNode } from './gojson';
import { GoUnmarshalTypeError, goDecode, S } from './godecode';
import { goMarshal } from './gojson-print';
import { ALL_VERSIONS, gte, VersionParseError } from './versions';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

export interface CmdArgs {
  command: CniCommand;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  netnsOverride: string;
  stdinData: Buffer;
  /** The parsed stdin (valid JSON by the time a handler runs). */
  config: JNode;
  /** The process environment, for delegation. */
  env: Record<string, string | undefined>;
}

/** A handler returns what goes to stdout on success ('' for nothing). */
export type Handler = (args: CmdArgs) => Promise<string | void>;

export interface PluginFuncs {
  add: Handler;
  del: Handler;
  check?: Handler;
  status?: Handler;
  gc?: Handler;
}

export interface PluginIo {
  env: Record<string, string | undefined>;
  readStdin(): Promise<Buffer>;
}

export interface Outcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Set when the call was cut off by its overall deadline (the standalone process then exits at once). */
  deadline?: boolean;
}

/** Largest network config read from stdin (the agent route has the same limit): code 5 beyond. */
export const STDIN_LIMIT = 1024 * 1024;
/** Deepest JSON nesting accepted in a network config: code 6 beyond, before any recursive parse. */
export const JSON_DEPTH_LIMIT = 64;
/** Overall deadline of one call, below the runtimes' usual 60 s timeout (SWITCHYARD_CNI_DEADLINE_MS). */
export const DEFAULT_DEADLINE_MS = 50_000;

/** Nesting depth of a JSON text, counted without parsing (strings skipped), stopping past `limit`. */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

class DeadlineError extends Error {
  readonly cni: CniError;
  constructor(ms: number) {
    super(`deadline of ${ms} ms exceeded`);
    this.cni = new CniError(
      ErrCode.TryAgainLater,
      `the call did not finish within its deadline of ${ms} ms`,
      'a lock held elsewhere, a hung filesystem or a slow delegate; SWITCHYARD_CNI_DEADLINE_MS sets the deadline',
    );
  }
}

function deadlineOf(env: Record<string, string | undefined>): number {
  const v = Number(env.SWITCHYARD_CNI_DEADLINE_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_DEADLINE_MS;
}

const REQUIRED: Record<string, CniCommand[]> = {
  CNI_COMMAND: ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'],
  CNI_CONTAINERID: ['ADD', 'DEL', 'CHECK'],
  CNI_NETNS: ['ADD', 'CHECK'],
  CNI_IFNAME: ['ADD', 'DEL', 'CHECK'],
  CNI_ARGS: [],
  CNI_PATH: ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'],
};

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateContainerID(id: string): CniError | undefined {
  if (id === '') return new CniError(ErrCode.UnknownContainer, 'missing containerID');
  if (!NAME_RE.test(id)) return new CniError(ErrCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
  return undefined;
}

export function validateInterfaceName(name: string): CniError | undefined {
  const E = ErrCode.InvalidEnvironmentVariables;
  if (name.length === 0) return new CniError(E, 'interface name is empty');
  if (Buffer.byteLength(name) > 15)
    return new CniError(E, 'interface name is too long', 'interface name should be less than 16 characters');
  if (name === '.' || name === '..') return new CniError(E, 'interface name is . or ..');
  if (/[/:\s]/u.test(name)) return new CniError(E, 'interface name contains / or : or whitespace characters');
  return undefined;
}

export function validateNetworkName(name: string): CniError | undefined {
  if (name === '') return new CniError(ErrCode.InvalidNetworkConfig, 'missing network name');
  if (!NAME_RE.test(name)) return new CniError(ErrCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
  return undefined;
}

function goErrorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** skel validateConfig: valid JSON with a valid `name`. */
function validateConfig(stdin: Buffer): { node: JNode } | CniError {
  let node: JNode;
  const text = stdin.toString('utf8');
  if (jsonDepthExceeds(text, JSON_DEPTH_LIMIT)) {
    return new CniError(ErrCode.DecodingFailure, `error unmarshall network config: nesting deeper than ${JSON_DEPTH_LIMIT} levels`);
  }
  try {
    node = parseGoJson(text);
  } catch (e) {
    return new CniError(ErrCode.DecodingFailure, `error unmarshall network config: ${goErrorText(e)}`);
  }
  let conf: { name?: string };
  try {
    conf = goDecode(node, { k: 'struct', name: '', goType: 'struct { Name string "json:\\"name\\"" }', fields: { name: S.string } });
  } catch (e) {
    return new CniError(ErrCode.DecodingFailure, `error unmarshall network config: ${goErrorText(e)}`);
  }
  return validateNetworkName(conf.name ?? '') ?? { node };
}

/** version.ConfigDecoder: the config's cniVersion ("" means 0.1.0). */
export function configVersion(node: JNode): string {
  const conf = goDecode<{ cniVersion?: string }>(node, { k: 'struct', name: '', goType: 'struct', fields: { cniVersion: S.string } });
  return conf.cniVersion ? conf.cniVersion : '0.1.0';
}

function goQuoteList(list: readonly string[]): string {
  return `[${list.map((v) => JSON.stringify(v)).join(' ')}]`;
}

async function checkVersionAndCall(args: CmdArgs, supported: readonly string[], fn: Handler | undefined): Promise<string> {
  let v: string;
  try {
    v = configVersion(args.config);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, goErrorText(e));
  }
  if (!supported.includes(v)) {
    throw new CniError(
      ErrCode.IncompatibleCNIVersion,
      'incompatible CNI versions',
      `config is ${JSON.stringify(v)}, plugin supports ${goQuoteList(supported)}`,
    );
  }
  if (!fn) return '';
  return (await fn(args)) ?? '';
}

async function gatedCall(
  args: CmdArgs,
  supported: readonly string[],
  minimum: string,
  verb: string,
  fn: Handler | undefined,
): Promise<string> {
  let v: string;
  let allowed: boolean;
  try {
    v = configVersion(args.config);
    allowed = gte(v, minimum);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, goErrorText(e));
  }
  if (!allowed) throw new CniError(ErrCode.IncompatibleCNIVersion, `config version does not allow ${verb}`);
  for (const pv of supported) {
    let ok: boolean;
    try {
      ok = gte(pv, v);
    } catch (e) {
      throw new CniError(ErrCode.DecodingFailure, goErrorText(e));
    }
    if (ok) return checkVersionAndCall(args, supported, fn);
  }
  throw new CniError(ErrCode.IncompatibleCNIVersion, `plugin version does not allow ${verb}`);
}

export function versionOutput(supported: readonly string[] = ALL_VERSIONS): string {
  return goMarshal({ cniVersion: '1.1.0', supportedVersions: supported }) + '\n';
}

export async function dispatch(
  io: PluginIo,
  funcs: PluginFuncs,
  about: string,
  supported: readonly string[] = ALL_VERSIONS,
): Promise<Outcome> {
  const env = io.env;
  const get = (k: string) => env[k] ?? '';
  const cmd = get('CNI_COMMAND');
  const missing = Object.keys(REQUIRED).filter((k) => get(k) === '' && (k === 'CNI_COMMAND' || REQUIRED[k].includes(cmd as CniCommand)));
  const fail = (e: unknown): Outcome => ({ stdout: toCniError(e).print(), stderr: '', exitCode: 1 });
  if (missing.length > 0) {
    if (cmd === '' && about) {
      return { stdout: '', stderr: `${about}\nCNI protocol versions supported: ${supported.join(', ')}\n`, exitCode: 0 };
    }
    return fail(new CniError(ErrCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`));
  }
  let stdin: Buffer = Buffer.alloc(0);
  if (cmd !== 'VERSION') {
    try {
      stdin = await io.readStdin();
    } catch (e) {
      return fail(new CniError(ErrCode.IOFailure, `error reading from stdin: ${goErrorText(e)}`));
    }
    if (stdin.length > STDIN_LIMIT) {
      return fail(new CniError(ErrCode.IOFailure, `network config on stdin is larger than ${STDIN_LIMIT} bytes`));
    }
  }
  let config: JNode = { t: 'object', entries: [] };
  if (cmd !== 'VERSION') {
    const v = validateConfig(stdin);
    if (v instanceof CniError) return fail(v);
    config = v.node;
    if (cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK') {
      const e = validateContainerID(get('CNI_CONTAINERID')) ?? validateInterfaceName(get('CNI_IFNAME'));
      if (e) return fail(e);
    }
  }
  const args: CmdArgs = {
    command: cmd as CniCommand,
    containerID: get('CNI_CONTAINERID'),
    netns: get('CNI_NETNS'),
    ifName: get('CNI_IFNAME'),
    args: get('CNI_ARGS'),
    path: get('CNI_PATH'),
    netnsOverride: get('CNI_NETNS_OVERRIDE'),
    stdinData: stdin,
    config,
    env,
  };
  const run = async (): Promise<string> => {
    let out: string;
    switch (cmd) {
      case 'ADD':
        out = await checkVersionAndCall(args, supported, funcs.add);
        break;
      case 'DEL':
        out = await checkVersionAndCall(args, supported, funcs.del);
        break;
      case 'CHECK':
        out = await gatedCall(args, supported, '0.4.0', 'CHECK', funcs.check);
        break;
      case 'STATUS':
        out = await gatedCall(args, supported, '1.1.0', 'STATUS', funcs.status);
        break;
      case 'GC':
        out = await gatedCall(args, supported, '1.1.0', 'GC', funcs.gc);
        break;
      case 'VERSION':
        out = versionOutput(supported);
        break;
      default:
        throw new CniError(ErrCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`);
    }
    return out;
  };
  try {
    let timer: NodeJS.Timeout | undefined;
    const ms = deadlineOf(env);
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineError(ms)), ms);
    });
    let out: string;
    try {
      out = await Promise.race([run(), expired]);
    } finally {
      clearTimeout(timer);
    }
    return { stdout: out, stderr: '', exitCode: 0 };
  } catch (e) {
    if (e instanceof DeadlineError) return { ...fail(e.cni), deadline: true };
    if (e instanceof VersionParseError || e instanceof GoUnmarshalTypeError || e instanceof GoJsonSyntaxError)
      return fail(new CniError(ErrCode.Internal, e.message));
    return fail(e);
  }
}
