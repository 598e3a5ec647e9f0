// The artifact schemas' own rules, beyond shapes: what a reader of the knowledge base relies on.
import { describe, expect, it } from 'vitest';
import { framework, prompt } from '../src/knowledge/types.js';

const base = { id: 'x', name: 'X', description: 'd' };
const messages = (result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) =>
  result.success ? [] : result.error!.issues.map((i) => `${i.path.join('/')}: ${i.message}`);

describe('prompt variables', () => {
  it('counts a variable used only by a block helper ({{#if name}}, {{#each name}}) as used', () => {
    const p = { ...base, purpose: 'p', template: '{{#if audience}}For {{audience}}: {{/if}}{{#each items}}- {{this}}{{/each}}',
      variables: [{ name: 'audience', description: 'who', required: false }, { name: 'items', description: 'what' }] };
    expect(messages(prompt.safeParse(p))).toEqual([]);
  });

  it('names a used but undeclared variable, and a declared but unused one', () => {
    const p = { ...base, purpose: 'p', template: 'Explain {{subject}}', variables: [{ name: 'topic', description: 't' }] };
    expect(messages(prompt.safeParse(p))).toEqual([
      'template: uses {{subject}}, which variables does not declare',
      "variables/0/name: 'topic' is declared but the template never uses it",
    ]);
  });
});

describe('framework detectors', () => {
  const detector = (content: unknown[]) => ({ ...base, language: 'elixir', ecosystem: 'hex', kind: 'web', detect: { content } });

  it('compiles each content rule with its flags, and names the rule that does not compile', () => {
    expect(messages(framework.safeParse(detector([{ glob: '**/*.ex', regex: '^use Phoenix\\.Router', flags: 'm' }])))).toEqual([]);
    expect(messages(framework.safeParse(detector([{ glob: '**/*.ex', regex: 'use (Phoenix' }])))[0]).toMatch(
      /^detect\/content\/0\/regex: not a valid regular expression: /,
    );
  });

  it('needs at least one rule', () => {
    expect(messages(framework.safeParse({ ...detector([]), detect: {} }))).toEqual(['detect: needs at least one file, dependency or content rule']);
  });
});
