/**
 * Text from outside Casebook, made safe to store and to show: bounded to a byte size with a
 * visible marker and the whole value's SHA-256 kept, and stripped of the controls that would let
 * it rearrange the words around it.
 */
import { sha256Hex } from './json.ts';
import { TRUNCATION_MARKER } from './limits.ts';

/** A value Casebook cut to its bound: where it was, how large it was, and its SHA-256. */
export interface Truncation {
  /** Where the value was, as the caller sent it (`commonAnnotations.description`). */
  readonly field: string;
  /** Its size in UTF-8 bytes. */
  readonly bytes: number;
  readonly sha256: string;
}

/** Size of a string in UTF-8 bytes, as DynamoDB counts it. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The longest prefix of whole characters that fits in `maxBytes` of UTF-8. */
function prefixWithin(value: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return value.slice(0, end);
}

/**
 * `value` if it fits in `maxBytes`; otherwise its first characters followed by the truncation
 * marker, within `maxBytes`, and a {@link Truncation} appended to `truncations`. Unpaired UTF-16
 * surrogates (which JSON allows and UTF-8 cannot carry) become U+FFFD first.
 */
export function boundText(value: string, maxBytes: number, field: string, truncations: Truncation[]): string {
  const text = value.toWellFormed();
  const bytes = utf8Bytes(text);
  if (bytes <= maxBytes) return text;
  truncations.push({ field, bytes, sha256: sha256Hex(text) });
  return prefixWithin(text, maxBytes - utf8Bytes(TRUNCATION_MARKER)) + TRUNCATION_MARKER;
}

/**
 * Unicode's explicit bidirectional formatting characters (ALM, LRM, RLM, LRE…RLO, LRI…PDI):
 * in outside text they can make a line read backwards or carry its direction into what follows.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
/** C0 and C1 controls and the Unicode line and paragraph separators. */
const LINE_BREAKERS = /[\p{Cc}\u2028\u2029]/gu;

/** Removes bidirectional controls (for places that cannot isolate text, like plain-text e-mail). */
export function withoutBidiControls(value: string): string {
  return value.replace(BIDI_CONTROLS, '');
}

/** One line of plain text for an e-mail subject: no bidirectional controls, no line breaks. */
export function subjectLine(value: string): string {
  return withoutBidiControls(value).replace(LINE_BREAKERS, ' ');
}

/**
 * A plain-text e-mail body from its lines, each made one line as a subject is: whatever a line
 * interpolates (a customer's name, an alert's title, a summary) cannot start a line of its own,
 * such as a "Bcc:" a reader or a careless mail tool would take for a header.
 */
export function plainTextBody(lines: readonly string[]): string {
  return lines.map(subjectLine).join('\n');
}

/** A count with its noun, as people write it: "1 entry", "2 entries", "0 customers". */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
