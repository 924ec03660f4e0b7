/**
 * Injection safety of the powershell data plane: whatever a caller puts in names, IDs or documents (quotes,
 * `;`, `$()`, backticks, newlines, here-string markers), the script text sent to PowerShell is the same
 * constant text apart from the base64 payload, parses (tree-sitter-powershell) to the same tree with a single
 * command, and the payload decodes back to exactly what was given.
 */
import * as assert from 'node:assert/strict';
import { buildCommand, encodePayload, importCommand, parseCommand, PS_OPERATIONS } from '../../../src/dataplane/windows/powershell/command';
import { descendants, parse, shape, syntaxProblems } from './grammar';

const ADVERSARIAL = [
  'plain',
  "it's",
  "a'; Remove-Item -Recurse C:\\ ; '",
  '"; Stop-Computer; "',
  '$(Stop-Computer)',
  '`$(Stop-Computer)`',
  "x`'; calc; `'",
  'line1\nRemove-Item C:\\\r\nline3',
  "@'\nhere\n'@; calc",
  '| Out-File C:\\pwned.txt',
  '& calc.exe',
  '${env:PATH}',
  '\u2018smart\u2019 quotes \u201Cdouble\u201D', // PowerShell treats these as quotes too
  '\u0000nul and \u001b escape',
  'emoji 🚀 and 网络',
];

const payloadFor = (name: string) => ({ Settings: JSON.stringify({ Name: name, Type: 'L2Bridge' }), Id: name });

describe('powershell data plane: command text cannot be broken out of', function () {
  it('is byte-identical apart from the base64 payload for every adversarial input', function () {
    const skeleton = (s: string) => s.replace(/'[A-Za-z0-9+/]*={0,2}'$/, "'<payload>'");
    const expected = "Invoke-SwitchyardHnsOperation -Operation 'NewNetwork' -EncodedJson '<payload>'";
    for (const name of ADVERSARIAL) {
      const script = buildCommand('NewNetwork', payloadFor(name));
      assert.equal(skeleton(script), expected, JSON.stringify(name));
      assert.match(script, /^[\x20-\x7e]+$/, 'printable ASCII only, no newline');
      assert.deepEqual(parseCommand(script)?.payload, payloadFor(name), 'payload decodes to the input');
    }
  });

  it('parses to the same tree with exactly one command whose only string argument is the payload', async function () {
    const reference = shape(await parse(buildCommand('NewNetwork', payloadFor('plain'))));
    for (const name of ADVERSARIAL) {
      const script = buildCommand('NewNetwork', payloadFor(name));
      const root = await parse(script);
      assert.deepEqual(syntaxProblems(root, script), [], JSON.stringify(name));
      assert.equal(shape(root), reference, `same tree for ${JSON.stringify(name)}`);
      const commands = descendants(root, 'command');
      assert.equal(commands.length, 1, 'a single command');
      assert.equal(commands[0].children.find((c) => c?.type === 'command_name')?.text, 'Invoke-SwitchyardHnsOperation');
      const strings = descendants(root, 'string_literal').map((s) => s.text);
      assert.deepEqual(strings, ["'NewNetwork'", `'${encodePayload(payloadFor(name))}'`]);
      assert.equal(descendants(root, 'sub_expression').length + descendants(root, 'variable').length, 0, 'no expressions or variables');
    }
  });

  it('has teeth: the same checks catch a naively spliced command', async function () {
    const reference = shape(await parse("New-SwitchyardHnsNetwork -Name 'plain'"));
    const spliced = `New-SwitchyardHnsNetwork -Name '${"a'; Remove-Item C:\\ ; '"}'`;
    const root = await parse(spliced);
    assert.notEqual(shape(root), reference);
    assert.ok(descendants(root, 'command').length > 1, 'splicing lets a second command in');
  });

  it('uses only the fixed operation names and string-only payloads', function () {
    assert.throws(() => buildCommand('Remove-Item' as never, {}), /unknown powershell data-plane operation "Remove-Item"/);
    assert.throws(() => encodePayload({ Id: 5 as unknown as string }), /payload field Id must be a string/);
    for (const op of PS_OPERATIONS) assert.equal(parseCommand(buildCommand(op, {}))?.operation, op);
  });

  it('imports the module from a path containing quotes and $() without splicing it', async function () {
    const p = "C:\\Users\\O'Brien $(calc)\\switchyard\\ps-modules\\Switchyard.Hns\\Switchyard.Hns.psd1";
    const script = importCommand(p);
    const root = await parse(script);
    assert.deepEqual(syntaxProblems(root, script), []);
    assert.equal(shape(root), shape(await parse(importCommand('C:\\x.psd1'))), 'path does not change the tree');
    const b64 = /FromBase64String\('([A-Za-z0-9+/=]+)'\)/.exec(script)![1];
    assert.equal(Buffer.from(b64, 'base64').toString('utf8'), p);
    assert.ok(!script.includes("O'Brien") && !script.includes('$(calc)'));
  });
});
