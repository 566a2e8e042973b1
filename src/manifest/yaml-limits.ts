import { CST, Lexer } from 'yaml';

/**
 * Limits on what a manifest file may hold, checked by one pass of yaml's lexer
 * before the file is parsed: a parse of a file past them would block the
 * daemon's event loop for seconds or overflow its stack.
 */

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
export const firstExcess = (text: string, maxScalars: number): { offset: number; message: string } | undefined => {
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
    if (
      (type === 'scalar' || type === 'single-quoted-scalar' || type === 'double-quoted-scalar') &&
      ++count > maxScalars
    ) {
      return {
        offset,
        message: `more than ${maxScalars} keys and values in one file: too large to parse without stalling the runner`,
      };
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
    if (block + flow > MAX_DEPTH)
      return { offset, message: `collections nested more than ${MAX_DEPTH} deep: too deep to parse safely` };
    if (!MARKERS.has(token)) offset += token.length;
  }
  return undefined;
};
