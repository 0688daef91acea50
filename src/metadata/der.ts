/**
 * A minimal DER reader (X.690) for the few ASN.1 structures the C2PA fast path reads: RFC 3161
 * time-stamp tokens (CMS SignedData) and certificate fields node:crypto does not expose. It keeps
 * byte ranges, because CMS signatures are checked over the exact encoded bytes.
 */

export interface Der {
  /** Identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** Offset of the identifier octet in `buf`. */
  start: number;
  /** Offset of the contents. */
  contentStart: number;
  end: number;
  buf: Uint8Array;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const DER_SEQUENCE = 0x30;
export const DER_SET = 0x31;
export const DER_OID = 0x06;
export const DER_OCTET_STRING = 0x04;
export const DER_INTEGER = 0x02;
export const DER_GENERALIZED_TIME = 0x18;

/** The element at `at`; definite lengths in their shortest form only (DER), high tag numbers refused. */
export function derAt(buf: Uint8Array, at = 0, limit = buf.length): Der {
  if (at + 2 > limit) throw new DerError(`truncated element at ${at}`);
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at ${at}`);
  let len = buf[at + 1]!;
  let contentStart = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || contentStart + n > limit) throw new DerError(`bad length at ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i]!;
    // DER: the shortest length form only (no long form under 128, no leading zero octet).
    if (len < 0x80 || buf[contentStart] === 0) throw new DerError(`length at ${at} is not in DER's shortest form`);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError(`element at ${at} runs past its parent`);
  return { tag, start: at, contentStart, end, buf };
}

/** The children of a constructed element. */
export function derChildren(d: Der): Der[] {
  const out: Der[] = [];
  for (let at = d.contentStart; at < d.end; ) {
    const c = derAt(d.buf, at, d.end);
    out.push(c);
    at = c.end;
  }
  return out;
}

export const derBytes = (d: Der): Uint8Array => d.buf.subarray(d.start, d.end);
export const derContent = (d: Der): Uint8Array => d.buf.subarray(d.contentStart, d.end);

/** Dotted form of an OBJECT IDENTIFIER. */
export function derOid(d: Der): string {
  if (d.tag !== DER_OID) throw new DerError(`expected an OID at ${d.start}`);
  const c = derContent(d);
  const parts: number[] = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (!parts.length) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** A GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`) as an ISO string with its fraction kept, or undefined when malformed. */
export function derGeneralizedTime(d: Der): { iso: string; ms: number; fraction: string } | undefined {
  if (d.tag !== DER_GENERALIZED_TIME) return undefined;
  const s = Buffer.from(derContent(d)).toString('latin1');
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) return undefined;
  const fraction = m[7] ?? '';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction ? `.${fraction}` : ''}Z`;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction ? `.${fraction.slice(0, 3)}` : ''}Z`);
  return Number.isNaN(ms) ? undefined : { iso, ms, fraction };
}
