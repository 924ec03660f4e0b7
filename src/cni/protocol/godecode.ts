/**
 * Decodes a JNode into a typed value the way Go's json.Unmarshal fills a struct, so config errors read
 * like the reference's: keys match case-insensitively, unknown keys are ignored, null leaves the zero
 * value, and the first type mismatch is reported as
 * `json: cannot unmarshal <kind> into Go struct field <Struct>.<path> of type <goType>`
 * (decoding continues past it, as Go's does, but only the first error is kept).
 */
import { goKind, type JNode } from './gojson';

export type Shape =
  | { k: 'string' }
  | { k: 'bool' }
  | { k: 'int'; goType?: string; min?: number; max?: number }
  | { k: 'raw' }
  | { k: 'any-object'; goType: string }
  | { k: 'array'; of: Shape; goType: string }
  | { k: 'map'; of: Shape; goType: string }
  | { k: 'struct'; name: string; goType: string; fields: Record<string, Shape> };

export const S = {
  string: { k: 'string' } as Shape,
  bool: { k: 'bool' } as Shape,
  int: { k: 'int' } as Shape,
  raw: { k: 'raw' } as Shape,
  array: (of: Shape, goType: string): Shape => ({ k: 'array', of, goType }),
  map: (of: Shape, goType: string): Shape => ({ k: 'map', of, goType }),
  struct: (name: string, goType: string, fields: Record<string, Shape>): Shape => ({ k: 'struct', name, goType, fields }),
};

export class GoUnmarshalTypeError extends Error {}

function goTypeName(shape: Shape): string {
  switch (shape.k) {
    case 'string':
      return 'string';
    case 'bool':
      return 'bool';
    case 'int':
      return shape.goType ?? 'int';
    case 'raw':
      return 'json.RawMessage';
    default:
      return shape.goType;
  }
}

interface Ctx {
  struct: string;
  path: string[];
  errors: string[];
}

function fail(ctx: Ctx, value: string, shape: Shape): void {
  if (ctx.errors.length > 0) return;
  const field = ctx.path.join('.');
  ctx.errors.push(
    ctx.struct || field
      ? `json: cannot unmarshal ${value} into Go struct field ${ctx.struct}.${field} of type ${goTypeName(shape)}`
      : `json: cannot unmarshal ${value} into Go value of type ${goTypeName(shape)}`,
  );
}

function decodeNode(node: JNode, shape: Shape, ctx: Ctx): unknown {
  if (node.t === 'null') return undefined;
  switch (shape.k) {
    case 'raw':
      return node;
    case 'string':
      if (node.t !== 'string') return fail(ctx, goKind(node), shape);
      return node.v;
    case 'bool':
      if (node.t !== 'bool') return fail(ctx, goKind(node), shape);
      return node.v;
    case 'int': {
      if (node.t !== 'number') return fail(ctx, goKind(node), shape);
      const ok = /^-?\d+$/.test(node.raw);
      const v = Number(node.raw);
      if (!ok || !Number.isSafeInteger(v) || (shape.min !== undefined && v < shape.min) || (shape.max !== undefined && v > shape.max)) {
        return fail(ctx, `number ${node.raw}`, shape);
      }
      return v;
    }
    case 'any-object':
      if (node.t !== 'object') return fail(ctx, goKind(node), shape);
      return node;
    case 'array': {
      if (node.t !== 'array') return fail(ctx, goKind(node), shape);
      const out: unknown[] = [];
      for (const item of node.items) {
        const v = decodeNode(item, shape.of, ctx);
        out.push(v);
      }
      return out;
    }
    case 'map': {
      if (node.t !== 'object') return fail(ctx, goKind(node), shape);
      const out: Record<string, unknown> = {};
      for (const [k, v] of node.entries) out[k] = decodeNode(v, shape.of, ctx);
      return out;
    }
    case 'struct': {
      if (node.t !== 'object') return fail(ctx, goKind(node), shape);
      const out: Record<string, unknown> = {};
      const names = Object.keys(shape.fields);
      const lowerMap = new Map(names.map((n) => [n.toLowerCase(), n]));
      for (const [key, val] of node.entries) {
        const name = shape.fields[key] !== undefined ? key : lowerMap.get(key.toLowerCase());
        if (name === undefined) continue;
        const saved = ctx.struct;
        ctx.struct = shape.name;
        ctx.path.push(name);
        const v = decodeNode(val, shape.fields[name], ctx);
        ctx.path.pop();
        ctx.struct = saved;
        if (val.t === 'null') continue;
        if (v !== undefined) out[name] = v;
      }
      return out;
    }
  }
}

/** Decodes `node` against `shape`; throws GoUnmarshalTypeError with Go's message on the first mismatch. */
export function goDecode<T>(node: JNode, shape: Shape): T {
  const ctx: Ctx = { struct: '', path: [], errors: [] };
  const v = decodeNode(node, shape, ctx);
  if (ctx.errors.length > 0) throw new GoUnmarshalTypeError(ctx.errors[0]);
  return (v ?? {}) as T;
}
