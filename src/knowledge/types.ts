// The artifact types of the knowledge base: one zod schema each, and the folder that holds them.
// An artifact's type is its top-level folder under templates_data/ (code_patterns/rust/x.json is a
// code_pattern); the JSON Schemas in templates_data/schemas/ are generated from these (npm run docs).
import { z } from 'zod';

const slug = z
  .string()
  .regex(/^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/, 'must be lower-case letters and digits, joined by single - _ or .')
  .max(120);
const text = z.string().trim().min(1, 'must not be empty');
const version = z
  .string()
  .regex(/^\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?$/, 'must be a version such as 1, 1.2 or 1.2.3')
  .default('1.0.0');

/** Fields every JSON artifact has. */
const base = {
  $schema: z.string().optional().describe('the JSON Schema of this type, for editors'),
  id: slug.describe('unique within its type; with version, the identity of the artifact'),
  version: version.describe('the artifact version; a new version is stored beside the old ones'),
  name: text.describe('a short title'),
  description: text.describe('what it is and when it matters, in a sentence or a paragraph'),
  tags: z.array(slug).default([]).describe('free keywords for search'),
};

const language = slug.describe('programming language, lower case: rust, elixir, typescript, ...');
const example = z.object({ language: language.optional(), code: text, explanation: z.string().optional() }).strict();

export const codePattern = z
  .object({
    ...base,
    language,
    category: slug.describe('error-handling, concurrency, testing, ...'),
    problem: text.describe('the situation the pattern answers'),
    solution: text.describe('what to do, in prose'),
    example: example.describe('code that shows the pattern'),
    antipattern: example.optional().describe('the code to avoid, and why'),
    references: z.array(z.url()).default([]),
  })
  .strict();

export const architecturePattern = z
  .object({
    ...base,
    category: slug.describe('structure, integration, data, deployment, ...'),
    when_to_use: z.array(text).min(1),
    when_not_to_use: z.array(text).default([]),
    components: z.array(z.object({ name: text, role: text }).strict()).min(1),
    tradeoffs: z.object({ pros: z.array(text).min(1), cons: z.array(text).min(1) }).strict(),
    indicators: z.array(text).default([]).describe('signs in a codebase that it uses the pattern'),
    related: z.array(slug).default([]).describe('ids of related architecture patterns'),
    references: z.array(z.url()).default([]),
  })
  .strict();

const detector = z
  .object({
    files: z.array(text).default([]).describe('file names or globs whose presence suggests the framework'),
    dependencies: z
      .array(z.object({ manifest: text.describe('package.json, mix.exs, Cargo.toml, ...'), name: text }).strict())
      .default([]),
    content: z
      .array(
        z
          .object({
            glob: text,
            regex: text.describe('a JavaScript regular expression'),
            flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s and u').default('').describe('its flags, e.g. m or i'),
          })
          .strict(),
      )
      .default([])
      .describe('patterns in files matching a glob'),
  })
  .strict()
  .refine((d) => d.files.length + d.dependencies.length + d.content.length > 0, 'needs at least one file, dependency or content rule');

export const framework = z
  .object({
    ...base,
    language,
    ecosystem: slug.describe('npm, hex, cargo, pypi, maven, go, rubygems, ...'),
    kind: z.enum(['web', 'frontend', 'testing', 'orm', 'cli', 'messaging', 'data', 'other']),
    detect: detector,
    conventions: z.array(text).default([]).describe('layout and idioms a project using it follows'),
    references: z.array(z.url()).default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
    f.detect.content.forEach((rule, i) => {
      try {
        new RegExp(rule.regex, rule.flags);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['detect', 'content', i, 'regex'], message: `not a valid regular expression: ${(error as Error).message}` });
      }
    });
  });

const BLOCK_HELPERS = new Set(['each', 'if', 'unless', 'with']);
const NOT_VARIABLES = new Set(['this', 'else']);

/** The names a {{...}} template reads: {{name}}, and the argument of {{#each name}} and the like. */
export function templateVariables(raw: string): string[] {
  const names = new Set<string>();
  for (const [, prefix, first, second] of raw.matchAll(/\{\{\s*([#^/]?)\s*([A-Za-z_][\w.]*)(?:\s+([A-Za-z_][\w.]*))?/g)) {
    if (prefix === '/') continue;
    const name = prefix === '#' && BLOCK_HELPERS.has(first!) ? second : first;
    if (name && !NOT_VARIABLES.has(name)) names.add(name);
  }
  return [...names].sort();
}


export const prompt = z
  .object({
    ...base,
    purpose: text,
    template: text.describe('the prompt text; {{name}} marks a variable'),
    variables: z.array(z.object({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), description: text, required: z.boolean().default(true) }).strict()).default([]),
    output: z.string().optional().describe('what the answer should look like'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const declared = new Set(p.variables.map((v) => v.name));
    const used = new Set(templateVariables(p.template));
    for (const name of used) {
      if (!declared.has(name)) ctx.addIssue({ code: 'custom', path: ['template'], message: `uses {{${name}}}, which variables does not declare` });
    }
    p.variables.forEach((v, i) => {
      if (!used.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variables', i, 'name'], message: `'${v.name}' is declared but the template never uses it` });
    });
  });

export const workflow = z
  .object({
    ...base,
    trigger: text.describe('what starts it'),
    steps: z
      .array(z.object({ id: slug, name: text, description: text, depends_on: z.array(slug).default([]) }).strict())
      .min(1),
    outputs: z.array(text).default([]),
  })
  .strict()
  .superRefine((w, ctx) => {
    const ids = new Set<string>();
    w.steps.forEach((step, i) => {
      if (ids.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `step id '${step.id}' is used twice` });
      step.depends_on.forEach((dep, j) => {
        if (!ids.has(dep)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'depends_on', j], message: `'${dep}' is not an earlier step` });
      });
      ids.add(step.id);
    });
  });

export const qualityStandard = z
  .object({
    ...base,
    language: language.optional().describe('omit for a standard that applies to every language'),
    rules: z
      .array(z.object({ id: slug, severity: z.enum(['error', 'warning', 'info']), rule: text, rationale: text, check: z.string().optional() }).strict())
      .min(1),
    thresholds: z.record(slug, z.number()).default({}).describe('named numeric limits, e.g. max_function_lines'),
    references: z.array(z.url()).default([]),
  })
  .strict();

/** A pattern the central database promoted (export-knowledge): its merged counts over every instance. */
export const learnedPattern = z
  .object({
    ...base,
    kind: text.describe('the kind of analysis finding the pattern was learned from'),
    pattern_key: text.describe('the pattern, as the instances learned it'),
    example: z.unknown().optional().describe('the latest finding of the pattern'),
    uses: z.number().int().min(0).describe('uses by agents over every instance'),
    successes: z.number().int().min(0),
    success_rate: z.number().min(0).max(1).nullable().describe('successes / uses'),
    instances: z.number().int().min(1).describe('how many instances learned it'),
    occurrences: z.number().int().min(1),
    confidence: z.number().min(0).max(1),
    first_seen_at: text,
    last_seen_at: text,
  })
  .strict();

/** Folder name → type and schema. Order is the order of the docs. */
export const ARTIFACT_TYPES = {
  code_patterns: { type: 'code_pattern', schema: codePattern },
  architecture_patterns: { type: 'architecture_pattern', schema: architecturePattern },
  frameworks: { type: 'framework', schema: framework },
  prompts: { type: 'prompt', schema: prompt },
  workflows: { type: 'workflow', schema: workflow },
  quality_standards: { type: 'quality_standard', schema: qualityStandard },
  // Written by export-knowledge on the central database (learned/learned_pattern/<id>.json), reviewed, merged.
  learned: { type: 'learned_pattern', schema: learnedPattern },
} as const;

export type ArtifactFolder = keyof typeof ARTIFACT_TYPES;

/** Text templates (.hbs, .lua, .md, ...) live under this folder; their type is 'template'. */
export const TEXT_TEMPLATE_FOLDER = 'templates';
export const TEXT_TEMPLATE_TYPE = 'template';
/** Holds the JSON Schemas, not artifacts. */
export const SCHEMA_FOLDER = 'schemas';

/** The JSON Schema of a type, as written to templates_data/schemas/<type>.schema.json. */
export function jsonSchemaOf(folder: ArtifactFolder): Record<string, unknown> {
  const { type, schema } = ARTIFACT_TYPES[folder];
  return {
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title: type,
  };
}
