/**
 * Secrets out of everything a diagnostics bundle carries: kubeconfigs (token, client-key-data, password),
 * netconfs and agent configs (etcd passwords, bearer tokens), logs. Structured text (JSON, YAML) is parsed and
 * values under credential-looking keys replaced; whatever does not parse is redacted line by line. Either way a
 * `Bearer xxx` anywhere and PEM private-key blocks are replaced too.
 */
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|credential|private[-_]?key|^key$|authorization|bearer|client[-_]?key|key[-_]?data|api[-_]?key/i;
export const REDACTED = '[redacted]';

function redactValue(v: unknown, depth = 0): unknown {
  if (depth > 32 || v === null || typeof v !== 'object') return typeof v === 'string' ? redactText(v) : v;
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    out[k] = SECRET_KEY.test(k) && x !== null && x !== '' ? REDACTED : redactValue(x, depth + 1);
  return out;
}

/** Free text: `key: value` / `key=value` / `"key": "value"` lines, bearer tokens, PEM private keys. */
export function redactText(text: string): string {
  return text
    .replace(
      /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
      `-----BEGIN $1PRIVATE KEY----- ${REDACTED} -----END $1PRIVATE KEY-----`,
    )
    .replace(/\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`)
    .replace(
      /(["']?)([A-Za-z0-9_.-]{0,64}(?:pass(?:word|wd)?|secret|token|credential|private[-_]?key|authorization|client[-_]?key|key[-_]?data|api[-_]?key))\1(\s*[:=]\s*)(?!bearer\s)(["']?)([^\s"',}]+)\4/gi,
      (_m, q: string, key: string, sep: string, vq: string) => `${q}${key}${q}${sep}${vq}${REDACTED}${vq}`,
    );
}

/** Redacts a file's content by its kind (JSON, YAML, else text); the result keeps the original format. */
export function redactFile(name: string, content: string): string {
  const trimmed = content.trimStart();
  if (/\.(json|conflist|conf)$/i.test(name) || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(redactValue(JSON.parse(content)), null, 2) + '\n';
    } catch {
      // not JSON after all: text rules below (JSON-lines logs go through here line by line)
    }
  }
  if (/\.(ya?ml)$|kubeconfig|(^|\/)config$/i.test(name)) {
    try {
      const YAML = require('yaml') as typeof import('yaml');
      const docs = YAML.parseAllDocuments(content);
      if (docs.every((d) => d.errors.length === 0)) return docs.map((d) => YAML.stringify(redactValue(d.toJS()))).join('---\n');
    } catch {
      // fall through
    }
  }
  return content
    .split('\n')
    .map((line) => {
      const t = line.trim();
      if (t.startsWith('{')) {
        try {
          return JSON.stringify(redactValue(JSON.parse(t)));
        } catch {
          // text
        }
      }
      return redactText(line);
    })
    .join('\n');
}
