/**
 * A real PowerShell grammar for the tests: tree-sitter-powershell's wasm under web-tree-sitter. Used to check
 * the modules in ps-modules/ and the command text the powershell data plane generates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type TS = typeof import('web-tree-sitter');
export type SyntaxNode = import('web-tree-sitter').Node;

let parserPromise: Promise<import('web-tree-sitter').Parser> | undefined;

export function powershellParser(): Promise<import('web-tree-sitter').Parser> {
  parserPromise ??= (async () => {
    const { Parser, Language } = require('web-tree-sitter') as TS;
    await Parser.init();
    const wasm = require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
    const lang = await Language.load(new Uint8Array(fs.readFileSync(wasm)));
    const p = new Parser();
    p.setLanguage(lang);
    return p;
  })();
  return parserPromise;
}

export async function parse(source: string): Promise<SyntaxNode> {
  const tree = (await powershellParser()).parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree.rootNode;
}

export function descendants(node: SyntaxNode, type?: string): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  const walk = (n: SyntaxNode) => {
    if (!type || n.type === type) out.push(n);
    for (const c of n.children) if (c) walk(c);
  };
  walk(node);
  return out;
}

/** ERROR and MISSING nodes, with line numbers, for assertion messages. */
export function syntaxProblems(root: SyntaxNode, source: string): string[] {
  return descendants(root)
    .filter((n) => n.type === 'ERROR' || n.isMissing)
    .map(
      (n) =>
        `${n.isMissing ? 'missing' : 'error'} at line ${n.startPosition.row + 1}: ${JSON.stringify(source.slice(n.startIndex, n.startIndex + 80))}`,
    );
}

/** The node-type skeleton of a tree (no text): two scripts with the same shape differ only in token text. */
export function shape(node: SyntaxNode): string {
  const kids = node.children.filter((c): c is SyntaxNode => !!c);
  return kids.length ? `(${node.type} ${kids.map(shape).join(' ')})` : node.type;
}

export const PS_MODULES = path.resolve(__dirname, '../../../../ps-modules');

export function moduleFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ps[dm]?1$/i.test(e.name)) out.push(p);
    }
  };
  walk(PS_MODULES);
  return out.sort();
}
