/**
 * The PowerShell modules in ps-modules/, checked with a real PowerShell grammar (tree-sitter-powershell):
 * they parse without errors, every function has comment-based help with a synopsis, uses an approved verb,
 * and every state-changing function declares SupportsShouldProcess and calls $PSCmdlet.ShouldProcess.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { descendants, moduleFiles, parse, syntaxProblems, type SyntaxNode } from './grammar';

// Get-Verb (PowerShell 7), the approved verbs.
const APPROVED_VERBS = new Set(
  `Add Clear Close Copy Enter Exit Find Format Get Hide Join Lock Move New Open Optimize Pop Push Redo
Remove Rename Reset Resize Search Select Set Show Skip Split Step Switch Undo Unlock Watch Connect Disconnect Read Receive
Send Write Backup Checkpoint Compare Compress Convert ConvertFrom ConvertTo Dismount Edit Expand Export Group Import
Initialize Limit Merge Mount Out Publish Restore Save Sync Unpublish Update Approve Assert Build Complete Confirm Deny
Deploy Disable Enable Install Invoke Register Request Restart Resume Start Stop Submit Suspend Uninstall Unregister Wait
Debug Measure Ping Repair Resolve Test Trace Block Grant Protect Revoke Unblock Unprotect Use`.split(/\s+/),
);
const STATE_CHANGING = new Set([
  'New',
  'Remove',
  'Set',
  'Add',
  'Invoke',
  'Update',
  'Clear',
  'Reset',
  'Install',
  'Uninstall',
  'Register',
  'Unregister',
  'Start',
  'Stop',
  'Restart',
  'Enable',
  'Disable',
]);
// Invoke-* that only read are named here; anything else with a state-changing verb must support -WhatIf.
const READ_ONLY = new Set<string>();

interface FunctionInfo {
  name: string;
  node: SyntaxNode;
  help: string;
  cmdletBinding?: SyntaxNode;
  body: string;
}

function functionsOf(root: SyntaxNode, source: string): FunctionInfo[] {
  return descendants(root, 'function_statement').map((fn) => {
    const name = fn.children.find((c) => c?.type === 'function_name')?.text ?? '';
    const comments = descendants(fn, 'comment').map((c) => c.text);
    const help = comments.find((c) => c.startsWith('<#')) ?? '';
    const cmdletBinding = descendants(fn, 'attribute').find((a) =>
      /^cmdletbinding$/i.test(a.children.find((c) => c?.type === 'attribute_name')?.text ?? ''),
    );
    return { name, node: fn, help, cmdletBinding, body: source.slice(fn.startIndex, fn.endIndex) };
  });
}

function stringsIn(node: SyntaxNode): string[] {
  return descendants(node, 'string_literal').map((s) => s.text.replace(/^['"]|['"]$/g, ''));
}

/** FunctionsToExport from a module manifest, read through the grammar (hash_entry key → string literals). */
function manifestExports(root: SyntaxNode): string[] {
  const entry = descendants(root, 'hash_entry').find((e) => /^FunctionsToExport\b/i.test(e.text));
  assert.ok(entry, 'manifest has FunctionsToExport');
  return stringsIn(entry);
}

describe('PowerShell modules (tree-sitter-powershell grammar)', function () {
  const files = moduleFiles();

  it('finds the project modules', function () {
    assert.ok(
      files.some((f) => f.endsWith(path.join('Switchyard.Hns', 'Switchyard.Hns.psm1'))),
      files.join(', '),
    );
    assert.ok(files.some((f) => f.endsWith(path.join('Switchyard.Hns', 'Switchyard.Hns.psd1'))));
  });

  for (const file of files) {
    const rel = path.relative(path.resolve(__dirname, '../../../..'), file);
    describe(rel, function () {
      let source: string;
      let root: SyntaxNode;
      before(async function () {
        source = fs.readFileSync(file, 'utf8');
        root = await parse(source);
      });

      it('parses without syntax errors', function () {
        assert.deepEqual(syntaxProblems(root, source), []);
      });

      if (file.endsWith('.psm1')) {
        it('gives every function comment-based help with .SYNOPSIS and an approved verb', function () {
          const fns = functionsOf(root, source);
          assert.ok(fns.length > 0);
          for (const f of fns) {
            assert.match(f.help, /^\s*<#[\s\S]*\.SYNOPSIS\s*\n\s*\S/m, `${f.name} has a .SYNOPSIS`);
            const verb = f.name.split('-')[0];
            assert.ok(APPROVED_VERBS.has(verb), `${f.name}: "${verb}" is not an approved verb`);
            assert.match(f.name, /^[A-Z][a-zA-Z]+-[A-Z][A-Za-z0-9]+$/, `${f.name} is Verb-Noun`);
          }
        });

        it('makes every state-changing function support -WhatIf (SupportsShouldProcess + ShouldProcess)', function () {
          let checked = 0;
          for (const f of functionsOf(root, source)) {
            if (!STATE_CHANGING.has(f.name.split('-')[0]) || READ_ONLY.has(f.name)) continue;
            checked++;
            assert.ok(f.cmdletBinding, `${f.name} has [CmdletBinding()]`);
            const args = descendants(f.cmdletBinding!, 'attribute_argument').map((a) => a.text.replace(/\s+/g, ''));
            assert.ok(
              args.some((a) => /^SupportsShouldProcess(=\$true)?$/i.test(a)),
              `${f.name} declares SupportsShouldProcess (${args.join(', ')})`,
            );
            const calls = descendants(f.node, 'invokation_expression').concat(descendants(f.node, 'member_access'));
            assert.ok(
              calls.some((c) => /\$PSCmdlet\.ShouldProcess/i.test(c.text)) ||
                /\$PSCmdlet\.ShouldProcess\(|WhatIf\s*=\s*\[bool\]\$WhatIfPreference/.test(f.body),
              `${f.name} calls $PSCmdlet.ShouldProcess or forwards -WhatIf`,
            );
          }
          assert.ok(checked > 0, 'found state-changing functions to check');
        });

        it('exports exactly what the manifest lists, and documents each exported parameter', function () {
          const manifest = file.replace(/\.psm1$/, '.psd1');
          if (!fs.existsSync(manifest)) return;
          const exported = descendants(root, 'command')
            .filter((c) => /^Export-ModuleMember\b/.test(c.text))
            .flatMap(stringsIn);
          const declared = functionsOf(root, source).map((f) => f.name);
          for (const name of exported) assert.ok(declared.includes(name), `${name} is exported but not defined`);
          const manifestSrc = fs.readFileSync(manifest, 'utf8');
          return parse(manifestSrc).then((m) => {
            assert.deepEqual([...manifestExports(m)].sort(), [...exported].sort(), 'FunctionsToExport matches Export-ModuleMember');
            for (const f of functionsOf(root, source).filter((x) => exported.includes(x.name))) {
              // The function's own param() block, not param() of script blocks nested in its body.
              const block = f.node.children.find((c) => c?.type === 'script_block')?.children.find((c) => c?.type === 'param_block');
              const params = block
                ? descendants(block, 'script_parameter').map((p) => descendants(p, 'variable').pop()?.text.replace(/^\$/, '') ?? '')
                : [];
              if (!/^Initialize-/.test(f.name))
                assert.ok(params.length > 0 || f.name === 'Get-SwitchyardHnsVersion', `${f.name}: found its parameters`);
              for (const p of params) assert.match(f.help, new RegExp(`\\.PARAMETER\\s+${p}\\b`, 'i'), `${f.name} documents -${p}`);
              assert.match(f.help, /\.EXAMPLE/, `${f.name} has an example`);
            }
          });
        });
      }
    });
  }
});
