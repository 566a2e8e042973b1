/**
 * Text that came from outside (manifest values, probe output, podman's
 * messages) made safe to print on a terminal: every character that a
 * terminal acts on instead of showing is replaced by a visible escape. That
 * is C0 (newline and tab too: one value stays on one line, so it cannot
 * forge the next line of output), DEL, C1 (U+009B is a one-character CSI to
 * some terminals), the line and paragraph separators, and the bidi controls
 * that reorder what follows (U+202A–U+202E, U+2066–U+2069). Everything else,
 * other Unicode included, is unchanged.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** What JSON.stringify leaves raw of the above (it escapes C0 itself). */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escapeChar = (char: string): string => {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
};

/** One value on one line: `a\nb` (a real newline) prints as the four characters `a\nb`. */
export const printable = (text: string): string => text.replace(UNPRINTABLE, escapeChar);

/** Text whose line breaks are meant (a multi-line message): each line escaped, the breaks kept. */
export const printableLines = (text: string): string => text.split('\n').map(printable).join('\n');

/**
 * JSON text (from JSON.stringify) for a terminal: the characters above that
 * it leaves raw become `\uXXXX` escapes. They can only occur inside
 * strings, so the result is still valid JSON and decodes to the same values.
 */
export const printableJson = (json: string): string =>
  json.replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Plain data (a status report) with every string in it made printable; for
 * renderers that print many fields. Arrays and objects are copied only where
 * a string inside them changed, so a clean report (the usual case) comes back
 * as it is: copying all of a 100-pod report was a tenth of `runner status`.
 */
export const printableData = <T>(value: T): T =>
  typeof value === 'object' && value !== null && isPrintableJson(JSON.stringify(value)) ? value : escapeData(value);

/**
 * Whether data whose JSON is `json` needs no escaping: JSON.stringify writes
 * every C0 character as `\n`, `\u001b` and the like and leaves the others
 * raw, so a text with neither holds nothing to escape. A backslash-letter
 * pair that was a backslash in the data only sends the data the slow way.
 * One pass in C++ instead of a walk of every field: a 100-pod report is
 * almost always clean.
 */
const isPrintableJson = (json: string | undefined): boolean =>
  json !== undefined && !/\\[bfnrtu]/.test(json) && !RAW_IN_JSON_ANY.test(json);
const RAW_IN_JSON_ANY = new RegExp(RAW_IN_JSON.source);

const escapeData = <T>(value: T): T => {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const clean = escapeData(item);
      if (clean !== item) (copy ??= [...value])[index] = clean;
    });
    return (copy ?? value) as T;
  }
  if (value !== null && typeof value === 'object') {
    let copy: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const clean = escapeData(item);
      if (clean !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = clean;
    }
    return (copy ?? value) as T;
  }
  return value;
};
