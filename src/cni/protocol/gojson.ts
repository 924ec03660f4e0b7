/**
 * A JSON reader that keeps what Go's encoding/json would see: number literals as written (so an `int`
 * field can reject `1.5` with Go's wording), members in input order including duplicate keys (Go lets the
 * later one win, whatever its case), and syntax errors phrased as Go phrases them
 * (`invalid character 'x' looking for beginning of value`, `unexpected end of JSON input`).
 */

export type JNode =
  | { t: 'object'; entries: [string, JNode][] }
  | { t: 'array'; items: JNode[] }
  | { t: 'string'; v: string }
  | { t: 'number'; raw: string }
  | { t: 'bool'; v: boolean }
  | { t: 'null' };

export class GoJsonSyntaxError extends Error {}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

export function parseGoJson(text: string): JNode {
  let i = 0;
  const n = text.length;
  const isWs = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  const skipWs = () => {
    while (i < n && isWs(text[i])) i++;
  };
  const eof = (): never => {
    throw new GoJsonSyntaxError('unexpected end of JSON input');
  };
  const bad = (context: string): never => {
    throw new GoJsonSyntaxError(`invalid character ${quoteChar(text[i])} ${context}`);
  };

  const literal = (word: string, node: JNode): JNode => {
    for (let k = 0; k < word.length; k++) {
      if (i >= n) eof();
      if (text[i] !== word[k]) {
        if (k === 0) bad('looking for beginning of value');
        bad(`in literal ${word} (expecting ${quoteChar(word[k])})`);
      }
      i++;
    }
    return node;
  };

  const str = (): string => {
    // text[i] === '"'
    const start = i;
    i++;
    for (;;) {
      if (i >= n) eof();
      const c = text[i];
      if (c === '"') break;
      if (c === '\\') {
        i++;
        if (i >= n) eof();
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= n) {
              i = n;
              eof();
            }
            if (!/[0-9a-fA-F]/.test(text[i + k])) {
              i += k;
              bad('in \\u hexadecimal character escape');
            }
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) bad('in string escape code');
        i++;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) bad('in string literal');
      i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };

  const num = (): JNode => {
    const start = i;
    if (text[i] === '-') {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i])) bad('in numeric literal');
    }
    if (text[i] === '0') i++;
    else while (i < n && /[0-9]/.test(text[i])) i++;
    if (i < n && text[i] === '.') {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i])) bad('after decimal point in numeric literal');
      while (i < n && /[0-9]/.test(text[i])) i++;
    }
    if (i < n && (text[i] === 'e' || text[i] === 'E')) {
      i++;
      if (i < n && (text[i] === '+' || text[i] === '-')) i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i])) bad('in exponent of numeric literal');
      while (i < n && /[0-9]/.test(text[i])) i++;
    }
    return { t: 'number', raw: text.slice(start, i) };
  };

  const value = (): JNode => {
    skipWs();
    if (i >= n) eof();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JNode][] = [];
      skipWs();
      if (i >= n) eof();
      if (text[i] === '}') {
        i++;
        return { t: 'object', entries };
      }
      for (;;) {
        skipWs();
        if (i >= n) eof();
        if (text[i] !== '"') bad('looking for beginning of object key string');
        const key = str();
        skipWs();
        if (i >= n) eof();
        if (text[i] !== ':') bad('after object key');
        i++;
        entries.push([key, value()]);
        skipWs();
        if (i >= n) eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { t: 'object', entries };
        }
        bad('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      const items: JNode[] = [];
      skipWs();
      if (i >= n) eof();
      if (text[i] === ']') {
        i++;
        return { t: 'array', items };
      }
      for (;;) {
        items.push(value());
        skipWs();
        if (i >= n) eof();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { t: 'array', items };
        }
        bad('after array element');
      }
    }
    if (c === '"') return { t: 'string', v: str() };
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    if (c === 't') return literal('true', { t: 'bool', v: true });
    if (c === 'f') return literal('false', { t: 'bool', v: false });
    if (c === 'n') return literal('null', { t: 'null' });
    return bad('looking for beginning of value');
  };

  const root = value();
  skipWs();
  if (i < n) bad('after top-level value');
  return root;
}

/** Plain JS value of a node (later duplicate keys win, as in Go's map decoding). */
export function toPlain(node: JNode): unknown {
  switch (node.t) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, v] of node.entries) o[k] = toPlain(v);
      return o;
    }
    case 'array':
      return node.items.map(toPlain);
    case 'string':
      return node.v;
    case 'number':
      return Number(node.raw);
    case 'bool':
      return node.v;
    case 'null':
      return null;
  }
}

/** What Go names a JSON value kind in "cannot unmarshal <kind> into ...". */
export function goKind(node: JNode): string {
  switch (node.t) {
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'bool':
      return 'bool';
    case 'null':
      return 'null';
  }
}

/** Case-insensitive member lookup the way Go matches struct fields: exact first, then any case; last wins. */
export function member(node: JNode | undefined, key: string): JNode | undefined {
  if (!node || node.t !== 'object') return undefined;
  let found: JNode | undefined;
  const lower = key.toLowerCase();
  for (const [k, v] of node.entries) if (k === key || k.toLowerCase() === lower) found = v;
  return found;
}
