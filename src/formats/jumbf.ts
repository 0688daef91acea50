/**
 * JUMBF (ISO/IEC 19566-5), the box format of a C2PA manifest store (labelling-standards.md §3.1):
 * ISOBMFF-style boxes (`LBox` `TBox` [`XLBox`] payload); a `jumb` superbox starts with a `jumd`
 * description box (16-byte type UUID, toggles, optional label/id/signature) followed by content
 * boxes (`cbor`, `json`, `bidb`...) or further superboxes. This reader keeps byte ranges so the
 * C2PA validator can hash boxes exactly as stored.
 */

export interface JumbfBox {
  /** Four-character box type, e.g. `cbor`. */
  type: string;
  /** Offset of the box header in the parsed buffer. */
  start: number;
  /** Offset of the payload (after LBox, TBox and XLBox). */
  payloadStart: number;
  end: number;
}

export interface JumbfSuperbox extends JumbfBox {
  type: 'jumb';
  /** Description box type as 32 hex digits (the first 4 bytes are ASCII for C2PA types, e.g. `c2ma`). */
  uuid: string;
  label?: string;
  /** Description toggles (0x01 requestable, 0x02 label, 0x04 id, 0x08 signature, 0x10 private box). */
  toggles: number;
  /** True when the description box holds only the UUID, toggles, label and (toggle 0x10) one private box: no id or signature. */
  plainDescription: boolean;
  /** Type of the private box in the description (C2PA puts its assertion salt there, `c2sh`). */
  privateBox?: string;
  /** Start of the description box: C2PA hashes a superbox from here to `end` (§3.1). */
  descriptionStart: number;
  /** Content boxes that are not superboxes. */
  contents: JumbfBox[];
  children: JumbfSuperbox[];
}

/** Thrown on bytes that are not well-formed JUMBF; callers turn it into their own error or fallback. */
export class JumbfError extends Error {
  override readonly name = 'JumbfError';
}

/** Deeper than any C2PA store (store / manifest / assertion store / assertion / nested box). */
const MAX_DEPTH = 8;

function boxAt(buf: Uint8Array, view: DataView, at: number, limit: number): JumbfBox {
  if (limit - at < 8) throw new JumbfError(`truncated box header at ${at}`);
  const lbox = view.getUint32(at);
  const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
  let payloadStart = at + 8;
  let size: number;
  if (lbox === 1) {
    if (limit - at < 16) throw new JumbfError(`truncated XLBox at ${at}`);
    const xl = view.getBigUint64(at + 8);
    if (xl > BigInt(limit - at)) throw new JumbfError(`box ${type} at ${at} runs past its parent`);
    size = Number(xl);
    payloadStart = at + 16;
  } else size = lbox === 0 ? limit - at : lbox;
  if (size < payloadStart - at || at + size > limit) throw new JumbfError(`box ${type} at ${at} has size ${size} outside its parent`);
  return { type, start: at, payloadStart, end: at + size };
}

function superbox(buf: Uint8Array, view: DataView, box: JumbfBox, depth: number): JumbfSuperbox {
  if (depth > MAX_DEPTH) throw new JumbfError(`superboxes nested deeper than ${MAX_DEPTH}`);
  const desc = boxAt(buf, view, box.payloadStart, box.end);
  if (desc.type !== 'jumd' || desc.end - desc.payloadStart < 17) throw new JumbfError(`superbox at ${box.start} does not start with a description box`);
  const uuid = Buffer.from(buf.subarray(desc.payloadStart, desc.payloadStart + 16)).toString('hex');
  const toggles = buf[desc.payloadStart + 16]!;
  let label: string | undefined;
  let labelEnd = desc.payloadStart + 17;
  if (toggles & 0x02) {
    const nul = buf.indexOf(0, labelEnd);
    if (nul < 0 || nul >= desc.end) throw new JumbfError(`unterminated label in the description box at ${desc.start}`);
    label = Buffer.from(buf.subarray(labelEnd, nul)).toString('utf8');
    labelEnd = nul + 1;
  }
  let privateBox: JumbfBox | undefined;
  if ((toggles & 0x1c) === 0x10 && labelEnd < desc.end) privateBox = boxAt(buf, view, labelEnd, desc.end);
  const plainDescription = (toggles & 0x0c) === 0 && (privateBox ? privateBox.end : labelEnd) === desc.end;
  const out: JumbfSuperbox = { type: 'jumb', start: box.start, payloadStart: box.payloadStart, end: box.end, uuid, toggles, plainDescription, descriptionStart: desc.start, contents: [], children: [] };
  if (privateBox) out.privateBox = privateBox.type;
  if (label !== undefined) out.label = label;
  for (let at = desc.end; at < box.end; ) {
    const child = boxAt(buf, view, at, box.end);
    if (child.type === 'jumb') out.children.push(superbox(buf, view, child, depth + 1));
    else out.contents.push(child);
    at = child.end;
  }
  return out;
}

/** Parses the outermost superbox of `buf`, which must be exactly one complete C2PA manifest store. */
export function parseJumbf(buf: Uint8Array): JumbfSuperbox {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const box = boxAt(buf, view, 0, buf.length);
  if (box.type !== 'jumb') throw new JumbfError(`expected a jumb superbox, found ${JSON.stringify(box.type)}`);
  // A carrier holds exactly one store: trailing bytes mean the carrier was cut or joined wrongly.
  if (box.end !== buf.length) throw new JumbfError(`${buf.length - box.end} bytes after the manifest store`);
  return superbox(buf, view, box, 0);
}

/** The child superbox with `label`, if any. */
export const childLabelled = (box: JumbfSuperbox, label: string): JumbfSuperbox | undefined => box.children.find((c) => c.label === label);

/** The type of a C2PA description UUID: its first four bytes as ASCII (`c2pa`, `c2ma`, `c2as`, `c2cl`, `cbor`...). */
export const uuidType = (box: JumbfSuperbox): string => Buffer.from(box.uuid.slice(0, 8), 'hex').toString('latin1');
