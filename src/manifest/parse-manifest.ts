import * as v from 'valibot';
import { type Document, isMap, isScalar, LineCounter, parseAllDocuments, visit } from 'yaml';
import { SCHEMAS, SUPPORTING_KINDS, WORKLOAD_KINDS, type Kind } from './kube-schema.ts';
import { formatFieldPath, type ManifestProblem } from './manifest-problem.ts';
import { firstAmbiguousKey } from './ambiguous-keys.ts';
import { firstExcess, MAX_SCALARS } from './yaml-limits.ts';
import { checkClaim, checkPolicy } from '../policy/check-policy.ts';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.ts';

export interface ManifestDocument {
  kind: Kind;
  name: string;
  /** 1-based line where the document starts, for messages. */
  line: number;
  /** The object exactly as written (unknown fields kept). */
  object: Record<string, unknown>;
}

export interface ParsedManifest {
  file: string;
  documents: ManifestDocument[];
  /** Empty when the file is valid. A file with any problem is applied not at all. */
  problems: ManifestProblem[];
}

/** Aliases may expand a document to at most this many nodes' worth ("billion laughs" guard). */
const MAX_ALIAS_COUNT = 100;
const SUPPORTED_KINDS: readonly string[] = [...WORKLOAD_KINDS, ...SUPPORTING_KINDS];

export interface ParseOptions {
  /** What a workload may ask of the host; DEFAULT_POLICY when not given. */
  policy?: Policy;
  /** MAX_SCALARS when not given. */
  maxScalars?: number;
}

/**
 * Parses every YAML (or JSON) document of a manifest file and validates each
 * against its kind's schema. Never throws for bad input: every failure becomes
 * a problem naming the file, line, column and field.
 */
export const parseManifest = (file: string, text: string, options: ParseOptions = {}): ParsedManifest => {
  const locator = new ProblemLocator(file);
  const excess = firstExcess(text, options.maxScalars ?? MAX_SCALARS);
  if (excess !== undefined)
    return {
      file,
      documents: [],
      problems: [{ file, ...locator.beforeParse(text, excess.offset), message: excess.message }],
    };

  let parsed: Document.Parsed[];
  try {
    // uniqueKeys is checked below: yaml's own check compares every key with
    // every other (O(n²): 80,000 keys took 48 s here, a 10 MB ConfigMap hours,
    // with the daemon's event loop blocked throughout).
    parsed = parseAllDocuments(text, {
      lineCounter: locator.lineCounter,
      uniqueKeys: false,
      prettyErrors: false,
    }) as Document.Parsed[];
  } catch (error) {
    return { file, documents: [], problems: [{ file, message: `cannot parse YAML: ${(error as Error).message}` }] };
  }
  if (!Array.isArray(parsed)) parsed = [];

  const problems: ManifestProblem[] = [];
  const documents: ManifestDocument[] = [];
  // Set for a Pod or Deployment even when it is invalid, so its problems are not
  // joined by a wrong "the file has no Pod or Deployment".
  let hasWorkload = false;
  for (const doc of parsed) {
    const checked = checkDocument(doc, locator, options.policy ?? DEFAULT_POLICY);
    if (checked === undefined) continue;
    hasWorkload ||= checked.workload;
    if (checked.document) documents.push(checked.document);
    problems.push(...checked.problems);
  }
  problems.push(...checkDocumentSet(file, documents, hasWorkload));
  return { file, documents: problems.length === 0 ? documents : [], problems: capProblems(file, problems) };
};

/** What one document of a file came to: the document when valid, else its problems. */
interface CheckedDocument {
  document?: ManifestDocument;
  problems: ManifestProblem[];
  /** A Pod or Deployment, valid or not. */
  workload: boolean;
}

/** Checks one document: YAML, then shape, kind, schema and policy. Undefined for an empty document. */
const checkDocument = (doc: Document.Parsed, locator: ProblemLocator, policy: Policy): CheckedDocument | undefined => {
  const read = readObject(doc, locator);
  if (read === undefined) return undefined;
  if ('problems' in read) return { problems: read.problems, workload: false };
  const record = read.object;
  const workload = typeof record.kind === 'string' && (WORKLOAD_KINDS as readonly string[]).includes(record.kind);
  const start = locator.at(doc.contents?.range[0]);
  const problems = validateObject(doc, record, locator, policy, start);
  if (problems.length > 0) return { problems, workload };
  const document = {
    kind: record.kind as Kind,
    name: (record.metadata as { name: string }).name,
    line: start.line ?? 1,
    object: record,
  };
  return { document, problems, workload };
};

/**
 * The document's object, or the problems that keep it from being one:
 * YAML errors, a repeated key, an alias bomb, a document that is no mapping.
 * Undefined for an empty document (after a trailing `---`: yaml gives it a
 * null scalar, not null contents), which kubectl skips too, as it does an
 * explicit `null`.
 */
const readObject = (
  doc: Document.Parsed,
  locator: ProblemLocator,
): { object: Record<string, unknown> } | { problems: ManifestProblem[] } | undefined => {
  const { file } = locator;
  if (doc.errors.length > 0)
    return {
      problems: doc.errors.map((error) => ({ file, ...locator.at(error.pos[0]), message: firstLine(error.message) })),
    };
  const duplicate = firstDuplicateKey(doc);
  if (duplicate !== undefined)
    return { problems: [{ file, ...locator.at(duplicate.offset), message: 'Map keys must be unique' }] };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return undefined;
  const start = locator.at(doc.contents.range[0]);
  let object: unknown;
  try {
    object = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      problems: [{ file, ...start, message: `cannot expand document: ${firstLine((error as Error).message)}` }],
    };
  }
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    return {
      problems: [
        {
          file,
          ...start,
          message: 'a document must be a mapping (a Kubernetes object with apiVersion, kind and metadata)',
        },
      ],
    };
  }
  return { object: object as Record<string, unknown> };
};

/** The problems of one object: ambiguous keys, its kind, its kind's schema, then the policy (on valid workloads only: its field paths then exist). */
const validateObject = (
  doc: Document.Parsed,
  record: Record<string, unknown>,
  locator: ProblemLocator,
  policy: Policy,
  start: Pick<ManifestProblem, 'line' | 'column'>,
): ManifestProblem[] => {
  const { file } = locator;
  const ambiguous = firstAmbiguousKey(record);
  if (ambiguous !== undefined) {
    return [
      {
        file,
        ...locator.at(nodeOffset(doc, ambiguous.path)),
        field: formatFieldPath(ambiguous.path),
        message: ambiguous.message,
      },
    ];
  }
  const kind = record.kind;
  if (typeof kind !== 'string') {
    return [
      {
        file,
        ...start,
        field: 'kind',
        message: 'is required (Pod, Deployment, ConfigMap, Secret or PersistentVolumeClaim)',
      },
    ];
  }
  if (!SUPPORTED_KINDS.includes(kind)) {
    const message = `kind "${kind}" is not supported; supported kinds: ${SUPPORTED_KINDS.join(', ')}`;
    return [{ file, ...locator.at(nodeOffset(doc, ['kind'])), field: 'kind', message }];
  }
  const located = (path: (string | number)[], message: string): ManifestProblem => ({
    file,
    ...locator.locate(doc, path, message),
    field: formatFieldPath(path),
    message,
  });
  const result = v.safeParse(SCHEMAS[kind as Kind], record);
  if (!result.success)
    return result.issues.map((issue) =>
      located(
        (issue.path ?? []).map((item) => item.key as string | number),
        issueMessage(issue),
      ),
    );
  if (!(WORKLOAD_KINDS as readonly string[]).includes(kind) && kind !== 'PersistentVolumeClaim') return [];
  const violations = kind === 'PersistentVolumeClaim' ? checkClaim(record, policy) : checkPolicy(kind, record, policy);
  return violations.map((violation) => located(violation.path, violation.message));
};

/** Lines and columns for the problems of one file. */
class ProblemLocator {
  readonly lineCounter = new LineCounter();
  /**
   * Locating a field walks the document's maps key by key (yaml's getIn), so
   * locating every one of thousands of problems is quadratic: a ConfigMap of
   * 64,000 numbers took 33 s. Only the first MAX_PROBLEMS_PER_FILE distinct
   * problems are ever shown (capProblems), so only those are located.
   */
  private readonly located = new Set<string>();

  constructor(readonly file: string) {}

  at(offset: number | undefined): Pick<ManifestProblem, 'line' | 'column'> {
    if (offset === undefined) return {};
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** Where the field at `path` is, for the first MAX_PROBLEMS_PER_FILE distinct problems. */
  locate(doc: Document.Parsed, path: (string | number)[], message: string): Pick<ManifestProblem, 'line' | 'column'> {
    const key = `${formatFieldPath(path)}\0${message}`;
    if (this.located.has(key) || this.located.size >= MAX_PROBLEMS_PER_FILE) return {};
    this.located.add(key);
    return this.at(nodeOffset(doc, path));
  }

  /** Where `offset` is in a text yaml never parsed (the lexer keeps no line counts): the place yaml would give. */
  beforeParse(text: string, offset: number): Pick<ManifestProblem, 'line' | 'column'> {
    this.lineCounter.addNewLine(0);
    for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1))
      this.lineCounter.addNewLine(index + 1);
    return this.at(offset);
  }
}

/** Enough problems to fix a file, not a wall of them (pathological input yields thousands). */
const MAX_PROBLEMS_PER_FILE = 20;

const capProblems = (file: string, problems: ManifestProblem[]): ManifestProblem[] => {
  const seen = new Set<string>();
  const unique = problems.filter((problem) => {
    const key = `${problem.field ?? ''}\0${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length <= MAX_PROBLEMS_PER_FILE) return unique;
  return [
    ...unique.slice(0, MAX_PROBLEMS_PER_FILE),
    { file, message: `and ${unique.length - MAX_PROBLEMS_PER_FILE} more problems` },
  ];
};

/** Rules about the file as a whole: something to run, and no name used twice for one kind. */
const checkDocumentSet = (file: string, documents: ManifestDocument[], hasWorkload: boolean): ManifestProblem[] => {
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, ManifestDocument>();
  for (const doc of documents) {
    const key = `${doc.kind}/${doc.name}`;
    const first = seen.get(key);
    if (first) {
      problems.push({
        file,
        line: doc.line,
        column: 1,
        field: 'metadata.name',
        message: `${doc.kind} "${doc.name}" is defined twice in this file (first at line ${first.line})`,
      });
    } else {
      seen.set(key, doc);
    }
  }
  if (documents.length > 0 && !hasWorkload) {
    problems.push({
      file,
      message:
        'the file has no Pod or Deployment: ConfigMaps, Secrets and PersistentVolumeClaims are applied together with the pods of the same file',
    });
  }
  return problems;
};

/** Offset of the deepest node on `path` that exists (the parent when the field itself is missing). */
const nodeOffset = (doc: Document.Parsed, path: (string | number)[]): number | undefined => {
  for (let depth = path.length; depth > 0; depth -= 1) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return doc.contents?.range[0];
};

const issueMessage = (issue: v.BaseIssue<unknown>): string => {
  if (issue.input === undefined && issue.kind === 'schema') return 'is required';
  return issue.message;
};

const firstLine = (message: string): string => message.split('\n')[0] ?? message;

/**
 * Offset of the first key that repeats an earlier key of the same mapping, in
 * linear time. Scalar keys compare by value, as YAML and Kubernetes do
 * (`1` and "1" differ; so do keys of other kinds, which manifests never use).
 */
const firstDuplicateKey = (doc: Document.Parsed): { offset: number | undefined } | undefined => {
  let found: { offset: number | undefined } | undefined;
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = pair.key.value;
        if (seen.has(key)) {
          found = { offset: pair.key.range?.[0] };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
};
