import * as v from 'valibot';
import { CST, type Document, isMap, isScalar, Lexer, LineCounter, parseAllDocuments, visit } from 'yaml';
import { SCHEMAS, SUPPORTING_KINDS, WORKLOAD_KINDS, type Kind } from './kube-schema.ts';
import { formatFieldPath, type ManifestProblem } from './manifest-problem.ts';
import { firstAmbiguousKey } from './ambiguous-keys.ts';
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
/**
 * A file may hold at most this many scalars (keys and values). yaml's document
 * model costs about 1 KB and 10 µs per scalar, all on the daemon's event loop:
 * a 10 MB file (the read cap) of short `key: value` lines, 740,000 scalars,
 * took 7 s and 700 MB here. Real manifests have hundreds of scalars; a 1 MiB
 * ConfigMap (the API server's limit) of 40-byte lines has about 50,000. The
 * cap keeps a parse under about 2 s and 150 MB; the lexer that counts costs a
 * tenth of a parse and stops at the cap.
 */
export const MAX_SCALARS = 200_000;
const SUPPORTED_KINDS: readonly string[] = [...WORKLOAD_KINDS, ...SUPPORTING_KINDS];

/**
 * Parses every YAML (or JSON) document of a manifest file and validates each
 * against its kind's schema. Never throws for bad input: every failure becomes
 * a problem naming the file, line, column and field.
 */
export interface ParseOptions {
  /** What a workload may ask of the host; DEFAULT_POLICY when not given. */
  policy?: Policy;
  /** MAX_SCALARS when not given. */
  maxScalars?: number;
}

export const parseManifest = (file: string, text: string, options: ParseOptions = {}): ParsedManifest => {
  const policy = options.policy ?? DEFAULT_POLICY;
  const problems: ManifestProblem[] = [];
  const documents: ManifestDocument[] = [];
  // Set for a Pod or Deployment even when it is invalid, so its problems are not
  // joined by a wrong "the file has no Pod or Deployment".
  let hasWorkload = false;
  const lineCounter = new LineCounter();
  const at = (offset: number | undefined): Pick<ManifestProblem, 'line' | 'column'> => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // Locating a field walks the document's maps key by key (yaml's getIn), so
  // locating every one of thousands of problems is quadratic: a ConfigMap of
  // 64,000 numbers took 33 s. Only the first MAX_PROBLEMS_PER_FILE distinct
  // problems are ever shown (capProblems), so only those are located.
  const located = new Set<string>();
  const locate = (doc: Document.Parsed, path: (string | number)[], message: string): Pick<ManifestProblem, 'line' | 'column'> => {
    const key = `${formatFieldPath(path)}\0${message}`;
    if (located.has(key) || located.size >= MAX_PROBLEMS_PER_FILE) return {};
    located.add(key);
    return at(nodeOffset(doc, path));
  };

  const maxScalars = options.maxScalars ?? MAX_SCALARS;
  const excess = firstExcess(text, maxScalars);
  if (excess !== undefined) {
    // The lexer keeps no line counts; these are the ones yaml would give.
    lineCounter.addNewLine(0);
    for (let index = text.indexOf('\n'); index !== -1 && index < excess.offset; index = text.indexOf('\n', index + 1)) lineCounter.addNewLine(index + 1);
    return { file, documents, problems: [{ file, ...at(excess.offset), message: excess.message }] };
  }

  let parsed: Document.Parsed[];
  try {
    // uniqueKeys is checked below: yaml's own check compares every key with
    // every other (O(n²): 80,000 keys took 48 s here, a 10 MB ConfigMap hours,
    // with the daemon's event loop blocked throughout).
    parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false }) as Document.Parsed[];
  } catch (error) {
    return { file, documents, problems: [{ file, message: `cannot parse YAML: ${(error as Error).message}` }] };
  }
  if (!Array.isArray(parsed)) parsed = [];

  for (const doc of parsed) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        problems.push({ file, ...at(error.pos[0]), message: firstLine(error.message) });
      }
      continue;
    }
    const duplicate = firstDuplicateKey(doc);
    if (duplicate !== undefined) {
      problems.push({ file, ...at(duplicate.offset), message: 'Map keys must be unique' });
      continue;
    }
    // An empty document, e.g. after a trailing `---`: yaml gives it a null
    // scalar, not null contents. kubectl skips these (and explicit `null`) too.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    const start = at(doc.contents.range[0]);

    let object: unknown;
    try {
      object = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      problems.push({ file, ...start, message: `cannot expand document: ${firstLine((error as Error).message)}` });
      continue;
    }
    if (object === null || typeof object !== 'object' || Array.isArray(object)) {
      problems.push({ file, ...start, message: 'a document must be a mapping (a Kubernetes object with apiVersion, kind and metadata)' });
      continue;
    }
    const record = object as Record<string, unknown>;
    const ambiguous = firstAmbiguousKey(record);
    if (ambiguous !== undefined) {
      if (typeof record.kind === 'string' && (WORKLOAD_KINDS as readonly string[]).includes(record.kind)) hasWorkload = true;
      problems.push({ file, ...at(nodeOffset(doc, ambiguous.path)), field: formatFieldPath(ambiguous.path), message: ambiguous.message });
      continue;
    }
    const kind = record.kind;
    if (typeof kind !== 'string') {
      problems.push({ file, ...start, field: 'kind', message: 'is required (Pod, Deployment, ConfigMap, Secret or PersistentVolumeClaim)' });
      continue;
    }
    if (!SUPPORTED_KINDS.includes(kind)) {
      problems.push({
        file,
        ...at(nodeOffset(doc, ['kind'])),
        field: 'kind',
        message: `kind "${kind}" is not supported; supported kinds: ${SUPPORTED_KINDS.join(', ')}`,
      });
      continue;
    }
    if ((WORKLOAD_KINDS as readonly string[]).includes(kind)) hasWorkload = true;
    const result = v.safeParse(SCHEMAS[kind as Kind], record);
    if (!result.success) {
      for (const issue of result.issues) {
        const path = (issue.path ?? []).map((item) => item.key as string | number);
        const message = issueMessage(issue);
        problems.push({ file, ...locate(doc, path, message), field: formatFieldPath(path), message });
      }
      continue;
    }
    // The policy runs on valid workloads only: its field paths then exist.
    if ((WORKLOAD_KINDS as readonly string[]).includes(kind) || kind === 'PersistentVolumeClaim') {
      const violations = kind === 'PersistentVolumeClaim' ? checkClaim(record, policy) : checkPolicy(kind, record, policy);
      for (const violation of violations) {
        problems.push({ file, ...locate(doc, violation.path, violation.message), field: formatFieldPath(violation.path), message: violation.message });
      }
      if (violations.length > 0) continue;
    }
    const name = (record.metadata as { name: string }).name;
    documents.push({ kind: kind as Kind, name, line: start.line ?? 1, object: record });
  }

  problems.push(...checkDocumentSet(file, documents, hasWorkload));
  return { file, documents: problems.length === 0 ? documents : [], problems: capProblems(file, problems) };
};

/** Lexer tokens that mark a place (document, flow end, the start of a plain scalar) and are not in the source. */
const MARKERS = new Set<string>([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * How deeply collections may nest in a manifest. yaml composes nested
 * collections recursively, about 1.2 KB of stack a level: `[` repeated
 * 100,000 times overflowed the main thread's stack at level 785 and the
 * parse worker's at 3,278. yaml catches the RangeError and goes on composing
 * at the edge of the stack, where the first run of a regular expression
 * compiles it (yaml's unfoldLines, `/(.*?)\r?\n/sy`); Debian 13's Node
 * 20.19 (V8 11.3) then aborts the whole process with `RegExpCompiler
 * Allocation failed - process out of memory` instead of throwing. So such a
 * file is refused before yaml sees it. Kubernetes objects nest about 10 deep.
 */
export const MAX_DEPTH = 100;

/**
 * Where the text first has more than `maxScalars` scalars or nests deeper
 * than MAX_DEPTH, by one pass of yaml's lexer (a tenth of a parse). Flow
 * depth (`[`, `{`) is exact; block depth is estimated from each line's
 * indentation against the open lines above it, plus the `-` and `?`
 * indicators on the line, which is never more than twice too low.
 */
const firstExcess = (text: string, maxScalars: number): { offset: number; message: string } | undefined => {
  let count = 0;
  let offset = 0;
  let flow = 0;
  // Indentations of the lines that may still hold open block collections.
  const indents: number[] = [];
  let lineStart = true;
  let indent = 0;
  let block = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if ((type === 'scalar' || type === 'single-quoted-scalar' || type === 'double-quoted-scalar') && ++count > maxScalars) {
      return { offset, message: `more than ${maxScalars} keys and values in one file: too large to parse without stalling the runner` };
    }
    if (token === CST.DOCUMENT) indents.length = 0;
    else if (lineStart && flow === 0) {
      // A line's first tokens outside flow collections: its indentation, then
      // what opens it. Blank and comment lines and a block scalar's body (one
      // token, ending in a newline) say nothing about nesting.
      if (/^ +$/.test(token)) indent = token.length;
      else if (token.includes('\n') || token.startsWith('#')) indent = 0;
      else if (token !== CST.SCALAR) {
        lineStart = false;
        while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
        indents.push(indent);
        block = indents.length + (token === '-' || token === '?' ? 1 : 0);
        indent = 0;
      }
    } else if (token.endsWith('\n')) lineStart = true;
    else if (token === '-' || token === '?') block += 1;
    else if (token === '[' || token === '{') flow += 1;
    else if (token === ']' || token === '}') flow = Math.max(0, flow - 1);
    if (block + flow > MAX_DEPTH) return { offset, message: `collections nested more than ${MAX_DEPTH} deep: too deep to parse safely` };
    if (!MARKERS.has(token)) offset += token.length;
  }
  return undefined;
};

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
  return [...unique.slice(0, MAX_PROBLEMS_PER_FILE), { file, message: `and ${unique.length - MAX_PROBLEMS_PER_FILE} more problems` }];
};

/** Rules about the file as a whole: something to run, and no name used twice for one kind. */
const checkDocumentSet = (file: string, documents: ManifestDocument[], hasWorkload: boolean): ManifestProblem[] => {
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, ManifestDocument>();
  for (const doc of documents) {
    const key = `${doc.kind}/${doc.name}`;
    const first = seen.get(key);
    if (first) {
      problems.push({ file, line: doc.line, column: 1, field: 'metadata.name', message: `${doc.kind} "${doc.name}" is defined twice in this file (first at line ${first.line})` });
    } else {
      seen.set(key, doc);
    }
  }
  if (documents.length > 0 && !hasWorkload) {
    problems.push({ file, message: 'the file has no Pod or Deployment: ConfigMaps, Secrets and PersistentVolumeClaims are applied together with the pods of the same file' });
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
