/**
 * A strict well-formedness check for the CBOR the C2PA fast path reads natively (claims, COSE
 * structures, assertions). cbor-x decodes leniently: with duplicate map keys the last one wins,
 * an integer key 33 and a text key "33" become the same object property, invalid UTF-8 is
 * replaced, and tags pass as objects. c2pa-rs (coset, c2pa_cbor) reads such bytes differently or
 * refuses them, so the fast path hands them to c2pa-rs instead of guessing. cbor-x has no strict
 * mode that reports these, so this walker is ours: it only accepts, it never decodes values.
 *
 * Accepted: definite and indefinite lengths (serde_cbor writes both), unique keys (by encoded bytes, and integer/text keys by their
 * property name too), valid UTF-8 text, false/true/null and floats as simple values, and tags
 * only where the caller allows them (COSE_Sign1's tag 18 at the top, date-times in assertions).
 */

export class StrictCborError extends Error {
  override readonly name = 'StrictCborError';
}

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface StrictCborOptions {
  /** The one tag allowed on the top-level item. */
  topTag?: number;
  /** Tags allowed anywhere (c2pa-rs writes tag 0, a date-time string, in actions' `when`). */
  tags?: ReadonlySet<number>;
  /**
   * Collects the item's skeleton: every map key's name and every value's type (major type, tag
   * number, simple value), no other values. Two items with one skeleton decode into the same typed
   * structure in c2pa-rs (serde), so the fast path keys verdicts on it.
   */
  shape?: string[];
}

/** Throws StrictCborError unless `b` is exactly one CBOR item in the strict form above. */
export function assertStrictCbor(b: Uint8Array, opts: StrictCborOptions = {}): void {
  const fail = (why: string, at: number): never => {
    throw new StrictCborError(`${why} at byte ${at}`);
  };
  /** The head at `at`: major type, argument, and where the content starts. */
  const head = (at: number): { major: number; ai: number; arg: number; next: number } => {
    if (at >= b.length) fail('truncated item', at);
    const ib = b[at]!;
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (ai < 24) return { major, ai, arg: ai, next: at + 1 };
    if (ai === 31 && major >= 2 && major <= 5) return { major, ai, arg: -1, next: at + 1 };
    if (ai > 27) fail('reserved additional information', at);
    const n = 1 << (ai - 24);
    if (at + 1 + n > b.length) fail('truncated head', at);
    if (major === 7) return { major, ai, arg: 0, next: at + 1 + n }; // a float: its bits are no length
    let arg = 0;
    for (let i = 0; i < n; i++) arg = arg * 256 + b[at + 1 + i]!;
    if (!Number.isSafeInteger(arg)) fail('argument too large', at);
    return { major, ai, arg, next: at + 1 + n };
  };
  const isBreak = (at: number) => {
    if (at >= b.length) fail('indefinite item without a break', at);
    return b[at] === 0xff;
  };
  const shape = opts.shape;
  const item = (at: number, depth: number): number => {
    if (depth > MAX_DEPTH) fail('nested too deeply', at);
    const h = head(at);
    shape?.push(h.major === 6 ? `6:${h.arg}` : h.major === 7 ? `7:${h.ai}` : String(h.major));
    if (h.arg === -1) {
      // Indefinite length: definite chunks of the same type (strings) or items up to the break.
      let p = h.next;
      if (h.major === 2 || h.major === 3) {
        const parts: Uint8Array[] = [];
        for (; !isBreak(p); ) {
          const c = head(p);
          if (c.major !== h.major || c.arg === -1) fail('bad chunk in an indefinite string', p);
          if (c.next + c.arg > b.length) fail('string runs past the end', p);
          parts.push(b.subarray(c.next, c.next + c.arg));
          p = c.next + c.arg;
        }
        if (h.major === 3) checkText(Buffer.concat(parts), at);
        return p + 1;
      }
      if (h.major === 4) {
        for (; !isBreak(p); ) p = item(p, depth + 1);
        shape?.push(']');
        return p + 1;
      }
      const keys = mapKeys();
      for (; !isBreak(p); ) {
        p = keys.add(p, depth);
        p = item(p, depth + 1);
      }
      shape?.push('}');
      return p + 1;
    }
    switch (h.major) {
      case 0:
      case 1:
        return h.next;
      case 2:
      case 3: {
        const end = h.next + h.arg;
        if (end > b.length) fail('string runs past the end', at);
        if (h.major === 3) checkText(b.subarray(h.next, end), at);
        return end;
      }
      case 4: {
        let p = h.next;
        for (let i = 0; i < h.arg; i++) p = item(p, depth + 1);
        shape?.push(']');
        return p;
      }
      case 5: {
        const keys = mapKeys();
        let p = h.next;
        for (let i = 0; i < h.arg; i++) {
          p = keys.add(p, depth);
          p = item(p, depth + 1);
        }
        shape?.push('}');
        return p;
      }
      case 6:
        if (!(depth === 0 && h.arg === opts.topTag) && !opts.tags?.has(h.arg)) fail(`tag ${h.arg}`, at);
        return item(h.next, depth + 1);
      default:
        // false, true, null; half, single and double floats.
        if (h.ai === 20 || h.ai === 21 || h.ai === 22 || h.ai === 25 || h.ai === 26 || h.ai === 27) return h.next;
        return fail(`simple value ${h.ai}`, at);
    }
  };
  const checkText = (t: Uint8Array, at: number) => {
    try {
      utf8.decode(t);
    } catch {
      fail('invalid UTF-8 text', at);
    }
  };
  /** The keys of one map: no two alike by their bytes, nor by the object property they decode to. */
  const mapKeys = () => {
    const raw = new Set<string>();
    const names = new Set<string>();
    return {
      add(k: number, depth: number): number {
        const end = item(k, depth + 1);
        const id = Buffer.from(b.buffer, b.byteOffset + k, end - k).toString('latin1');
        if (raw.has(id)) fail('duplicate map key', k);
        raw.add(id);
        const kh = head(k);
        if (kh.arg === -1) fail('indefinite-length map key', k);
        // Integer and text keys land on one object property when decoded to objects.
        const name = kh.major === 0 ? String(kh.arg) : kh.major === 1 ? String(-1 - kh.arg) : kh.major === 3 ? utf8.decode(b.subarray(kh.next, end)) : undefined;
        if (name !== undefined) {
          if (names.has(name)) fail('two map keys with one name', k);
          if (name === '__proto__') fail('__proto__ map key', k);
          names.add(name);
        }
        shape?.push(`=${name ?? id}`);
        return end;
      },
    };
  };
  const end = item(0, 0);
  if (end !== b.length) fail('bytes after the item', end);
}
