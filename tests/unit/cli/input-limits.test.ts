/** Issue 11, defect 8: `apply -f` input is bounded and refused with exit 2 (UsageError) naming the problem. */
import { strict as assert } from 'node:assert';
import { readDocuments } from '../../../src/cli/apply';
import { UsageError } from '../../../src/cli/errors';

const refused = (text: string, re: RegExp) =>
  assert.throws(
    () => readDocuments(text, 'in.yaml'),
    (e: Error) => e instanceof UsageError && re.test(e.message),
  );

describe('CLI input limits (apply -f)', () => {
  it('a YAML alias bomb is refused as bad input', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(96 + i))
          .join(', ')}]`,
      );
    refused(lines.join('\n'), /not valid YAML/);
  });
  it('an unknown YAML tag is refused, not dropped', () => refused('Name: n\nType: !custom L2Bridge\n', /tag/i));
  it('names with newlines or terminal escapes, or too long, are refused naming the field', () => {
    refused('Name: "a\\nb"\nType: L2Bridge\n', /Name contains control characters/);
    refused('{"Name":"\\u001b[31mred","Type":"L2Bridge"}', /Name contains control characters/);
    refused(`{"Name":"${'n'.repeat(300)}","Type":"L2Bridge"}`, /Name is longer than 256/);
  });
  it('JSON nested deeper than 64 levels is refused', () =>
    refused('{"Name":"n","x":' + '['.repeat(1000) + ']'.repeat(1000) + '}', /nesting deeper/));
  it('ordinary documents still load', () => assert.equal(readDocuments('Name: n\nType: L2Bridge\n', 'in.yaml').length, 1));
});
