import { Encoder } from 'cbor-x';
import { childLabelled, uuidType, type JumbfSuperbox } from '../formats/jumbf.js';
import type { HardBinding } from './c2pa-bindings.js';
import { bail, bytesOf, decodeStrict, decodeStrictWithShape, digest, HASHES, isRecord, same } from './c2pa-native.js';
import { verifyTimeStampToken, type VerifiedTimeStamp } from './c2pa-timestamp.js';
import { CoseFormError, coseVerifies, readCoseSign1, sigStructure, type CoseSign1 } from './cose.js';
import { certificateInfo, validityAt } from './x509-cache.js';

/**
 * The manifests of a C2PA store as the fast path reads them: the claim, its hashed URIs, the
 * COSE signature and its time stamp, CAWG X.509 identities. Only the canonical forms c2pa-rs
 * itself writes are read here: one box of each kind, plain box sizes, strict CBOR, the claim
 * fields c2pa-rs requires with the types it requires, the certificate chain where c2pa-rs looks
 * for it and one time-stamp header. Anything else declines (NotFast), so c2pa-rs decides it:
 * wherever the two readings could differ, c2pa-rs's is the one used.
 */

/** The raw manifest shape c2pa.ts turns into a report (the subset of c2pa-rs's Reader JSON it reads). */
export interface FastRawManifest {
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string }[];
  assertions: { label: string; data?: unknown }[];
  /** Manifests this one's ingredients name (c2pa-rs's `ingredients[].active_manifest`). */
  ingredients?: { active_manifest: string }[];
  signature_info?: { issuer?: string; common_name?: string; time?: string };
}

export interface ManifestCheck {
  label: string;
  raw: FastRawManifest;
  /** What the credential verdict depends on: algorithm, certificates, where the signing time falls in their validity. */
  credParts: unknown[];
  /** The store's shape as c2pa-rs validates it: claim version, assertions, actions, ingredients. */
  shapeParts: unknown[];
  /** C2PA failure codes the native checks found (a tampered claim, assertion or ingredient). */
  failures: string[];
  hardBindings: HardBinding[];
  /** Manifests this one's ingredients resolve to. */
  ingredientManifests: JumbfSuperbox[];
}

/** Unprotected COSE header entries c2pa-rs writes (text labels only); any other goes to c2pa-rs. */
const UNPROTECTED_KNOWN = new Set(['pad', 'pad2', 'sigTst', 'sigTst2', 'rVals', 'x5chain']);
const COSE_HEADER_ALG = 1;
const COSE_HEADER_X5CHAIN = 33;

/** The ISO 19566-5 suffix of every C2PA box type UUID (after the 4-character type). */
const C2PA_UUID_SUFFIX = '00110010800000aa00389b71';
/** Embedded-file assertions (thumbnails) use the JUMBF embedded file type. */
const EMBEDDED_FILE_UUID = '40cb0c32bb8a489da70b2ad6f47f4369';
const ROLE_OF_LABEL: Record<string, string> = {
  'c2pa.assertions': 'c2as',
  'c2pa.claim': 'c2cl',
  'c2pa.claim.v2': 'c2cl',
  'c2pa.signature': 'c2cs',
  'c2pa.databoxes': 'c2db',
  'c2pa.credentials': 'c2vc',
};

/**
 * A superbox written the way C2PA writers write them, of the expected type: requestable with a
 * label and nothing else, or (assertions only) with the salt as a private `c2sh` box.
 */
function expectBox(box: JumbfSuperbox, types: readonly string[], salted = false): void {
  const typed = types.some((t) => (t.length === 32 ? box.uuid === t : box.uuid === Buffer.from(t, 'latin1').toString('hex') + C2PA_UUID_SUFFIX));
  const described = box.plainDescription && (box.toggles === 0x03 || (salted && box.toggles === 0x13 && box.privateBox === 'c2sh'));
  if (!described || !typed) bail(`unusual superbox ${box.label ?? '(no label)'}`);
}

const u32 = (buf: Uint8Array, at: number): number => ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;

/**
 * Every box of the tree framed the way c2pa-rs writes it: a plain 32-bit LBox equal to the box's
 * size (no XLBox, no LBox 0 "to the end"), and sibling superboxes with distinct labels. Readers
 * differ on which of two same-labelled boxes counts, and c2pa-rs refuses the other framings.
 */
export function expectCanonicalFraming(buf: Uint8Array, box: JumbfSuperbox): void {
  const plain = (start: number, end: number) => {
    const l = u32(buf, start);
    if (l < 8 || l !== end - start) bail(`box at ${start} is not framed by a plain LBox`);
  };
  plain(box.start, box.end);
  const descEnd = box.children[0]?.start ?? box.contents[0]?.start ?? box.end;
  plain(box.descriptionStart, descEnd);
  if (box.privateBox) {
    const labelEnd = box.descriptionStart + 8 + 17 + (box.label === undefined ? 0 : Buffer.byteLength(box.label) + 1);
    plain(labelEnd, descEnd);
  }
  for (const c of box.contents) plain(c.start, c.end);
  const labels = new Set<string>();
  for (const c of box.children) {
    const l = c.label ?? bail(`unlabelled box in ${box.label}`);
    if (labels.has(l)) bail(`two boxes labelled ${l} in ${box.label}`);
    labels.add(l);
    expectCanonicalFraming(buf, c);
  }
  // Content boxes and superboxes interleaved: the description must be followed by one kind, in order.
  const all = [...box.contents, ...box.children].sort((a, b) => a.start - b.start);
  for (let i = 1; i < all.length; i++) if (all[i]!.start !== all[i - 1]!.end) bail(`gap between boxes in ${box.label}`);
  if (all.length && (all[0]!.start !== descEnd || all.at(-1)!.end !== box.end)) bail(`gap in ${box.label}`);
}

interface HashedUri {
  url: string;
  alg?: string;
  hash: Uint8Array;
}
const HASHED_URI_FIELDS = new Set(['url', 'alg', 'hash']);
function hashedUri(v: unknown): HashedUri {
  if (!isRecord(v) || typeof v.url !== 'string' || !bytesOf(v.hash)) bail('malformed hashed URI');
  const r = v as Record<string, unknown>;
  if (Object.keys(r).some((k) => !HASHED_URI_FIELDS.has(k)) || (r.alg !== undefined && typeof r.alg !== 'string')) bail('hashed URI with other fields');
  return { url: r.url as string, hash: bytesOf(r.hash)!, ...(typeof r.alg === 'string' ? { alg: r.alg } : {}) };
}

/** Resolves a `self#jumbf=` URI, relative to `manifest` or absolute from the store. */
function resolve(store: JumbfSuperbox, manifest: JumbfSuperbox, url: string): JumbfSuperbox | undefined {
  if (!url.startsWith('self#jumbf=')) return undefined;
  const path = url.slice('self#jumbf='.length).split('/').filter(Boolean);
  let box: JumbfSuperbox | undefined = manifest;
  if (path[0] === 'c2pa') {
    box = store;
    path.shift();
  }
  for (const seg of path) box = box && childLabelled(box, seg);
  return box;
}

/** A superbox's hash as C2PA hashed URIs use it: from its description box to its end (no superbox header). */
const boxHash = (buf: Uint8Array, box: JumbfSuperbox, alg: string): Buffer => digest(alg, buf.subarray(box.descriptionStart, box.end));

/** The payload of a superbox's single content box of `type`. */
function contentOf(buf: Uint8Array, box: JumbfSuperbox, type: string): Uint8Array {
  const c = box.contents.find((x) => x.type === type);
  if (!c || box.contents.length !== 1 || box.children.length) bail(`expected one ${type} box in ${box.label}`);
  return buf.subarray(c!.payloadStart, c!.end);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A JSON assertion's skeleton (keys and value types), like CBOR's; it must be UTF-8 JSON c2pa-rs can decode. */
function jsonSkeleton(b: Uint8Array, what: string): string {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(b));
  } catch {
    bail(`${what} is not JSON`);
  }
  const walk = (x: unknown): unknown => (Array.isArray(x) ? x.map(walk) : x !== null && typeof x === 'object' ? Object.entries(x).map(([k, y]) => [k, walk(y)]) : x === null ? 'n' : typeof x);
  return digest('sha256', Buffer.from(JSON.stringify(walk(v)))).toString('base64');
}

/** Certificates as they enter a credential key: the SHA-256 of each DER. */
const certificateIds = (certs: Uint8Array[]): string[] => certs.map((c) => digest('sha256', c).toString('hex'));

/** readCoseSign1, declining (NotFast) what it refuses. */
function coseOf(bytes: Uint8Array): CoseSign1 {
  try {
    return readCoseSign1(bytes);
  } catch (e) {
    if (e instanceof CoseFormError) bail(e.message);
    throw e;
  }
}

/**
 * The certificate chain where c2pa-rs reads it (sign1.rs, cert_chain_from_sign1): the protected
 * header's x5chain, else the unprotected text label `x5chain`, never both. Of those, only the two
 * forms C2PA writers use are read natively: protected integer 33, or (C2PA 1.x) unprotected text
 * `x5chain` with nothing in the protected header. The chain is a byte string or an array of them.
 */
function chainOf(cose: CoseSign1, unprotectedAllowed: boolean): { chain: Uint8Array[]; placement: 'p' | 'u' } {
  for (const k of cose.protectedHeader.keys()) if (k !== COSE_HEADER_ALG && k !== COSE_HEADER_X5CHAIN) bail(`protected header ${typeof k} ${String(k)}`);
  for (const k of cose.unprotected.keys()) if (typeof k !== 'string' || !UNPROTECTED_KNOWN.has(k) || (!unprotectedAllowed && k !== 'x5chain')) bail(`unprotected header ${typeof k} ${String(k)}`);
  const inProtected = cose.protectedHeader.get(COSE_HEADER_X5CHAIN);
  const inUnprotected = cose.unprotected.get('x5chain');
  if ((inProtected === undefined) === (inUnprotected === undefined)) bail(inProtected === undefined ? 'no x5chain' : 'x5chain in both headers');
  const x5 = inProtected ?? inUnprotected;
  const chain = (Array.isArray(x5) ? x5 : [x5]).map((c) => bytesOf(c) ?? bail('x5chain entry is not bytes'));
  if (!chain.length) bail('empty x5chain');
  return { chain, placement: inProtected !== undefined ? 'p' : 'u' };
}

const signerKey = (chain: Uint8Array[]) => (certificateInfo(chain[0]!) ?? bail('signing certificate does not parse')).publicKey;

const TST_CONTAINER_FIELDS = new Set(['tstTokens']);
function checkSignature(buf: Uint8Array, sigBox: JumbfSuperbox, claimBytes: Uint8Array, credParts: unknown[], failures: string[]): VerifiedTimeStamp | undefined {
  const cose = coseOf(contentOf(buf, sigBox, 'cbor'));
  const u = cose.unprotected;
  const { chain, placement } = chainOf(cose, true);
  for (const pad of ['pad', 'pad2']) if (u.has(pad) && !bytesOf(u.get(pad))) bail(`${pad} is not bytes`);
  if (!coseVerifies(cose, signerKey(chain), claimBytes)) failures.push('claimSignature.mismatch');

  // c2pa-rs takes the first time-stamp header in map order; with one there is no order to follow.
  if (u.has('sigTst') && u.has('sigTst2')) bail('two time-stamp headers');
  const tstHeader = u.has('sigTst2') ? 'sigTst2' : u.has('sigTst') ? 'sigTst' : undefined;
  let ts: VerifiedTimeStamp | undefined;
  if (tstHeader) {
    const container = u.get(tstHeader);
    const tokens = container instanceof Map && [...container.keys()].every((k) => TST_CONTAINER_FIELDS.has(k as string)) && Array.isArray(container.get('tstTokens')) ? (container.get('tstTokens') as unknown[]) : bail('malformed sigTst');
    const token = tokens.length === 1 && tokens[0] instanceof Map && tokens[0].size === 1 ? bytesOf(tokens[0].get('val')) : undefined;
    if (!token) bail('sigTst must hold one token');
    const data = tstHeader === 'sigTst' ? claimBytes : new Encoder({ tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]).encode(cose.signature);
    const verified = verifyTimeStampToken(token!, sigStructure('CounterSignature', cose.protectedBytes, data)) ?? bail('time stamp does not verify');
    // A sound token over other data (the claim changed after it was stamped): c2pa-rs goes on
    // without a signing time and checks the certificates against now.
    if (verified.imprintMatches) ts = verified;
    else credParts.push('time stamp over other data');
  }
  const at = ts?.ms ?? Date.now();
  const certs = [...chain, ...(ts?.certificates ?? [])];
  // Stapled OCSP responses are part of what c2pa-rs judges the credential on.
  const rVals = u.has('rVals') ? digest('sha256', Buffer.from(JSON.stringify(u.get('rVals'), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v instanceof Map ? [...v] : v)))).toString('hex') : '';
  credParts.push(cose.alg, placement, tstHeader ?? '-', rVals, certificateIds(chain), certificateIds(ts?.certificates ?? []), certs.map((c) => validityAt(c, at)));
  return ts;
}

const cawgEncoder = new Encoder({ useRecords: false, tagUint8Array: false, useTag259ForMaps: false, variableMapSize: true } as ConstructorParameters<typeof Encoder>[0]);
const CAWG_FIELDS = new Set(['signer_payload', 'signature', 'pad1', 'pad2']);

/**
 * A CAWG identity assertion with an X.509 credential (`cawg.x509.cose`, CAWG 1.1 §8.2): its
 * referenced assertions must be the claim's own (hard binding included) and its COSE_Sign1 must
 * verify over the CBOR signer payload. The credential's verdict joins the key's credentials, so
 * c2pa-rs judges it like the claim signer's. Roles, expectations, time stamps and other credential
 * types are left to c2pa-rs.
 */
function checkCawgIdentity(d: Record<string, unknown>, claimRefs: HashedUri[], credParts: unknown[], signedAt: number | undefined): void {
  if (Object.keys(d).some((k) => !CAWG_FIELDS.has(k))) bail('CAWG identity field');
  for (const pad of [d.pad1, d.pad2]) if (pad !== undefined && !bytesOf(pad)?.every((b) => b === 0)) bail('CAWG padding is not zeros');
  const payload = isRecord(d.signer_payload) ? d.signer_payload : bail('CAWG identity without a signer payload');
  if (Object.keys(payload).some((k) => k !== 'referenced_assertions' && k !== 'sig_type') || payload.sig_type !== 'cawg.x509.cose') bail('CAWG signer payload other than plain X.509');
  const references = (Array.isArray(payload.referenced_assertions) ? payload.referenced_assertions : bail('CAWG without referenced assertions')).map(hashedUri);
  if (!references.every((r) => claimRefs.some((c) => c.url === r.url && same(c.hash, r.hash)))) bail('CAWG reference not in the claim');
  if (!references.some((r) => /c2pa\.hash\./.test(r.url))) bail('CAWG without the hard binding');
  const cose = coseOf(bytesOf(d.signature) ?? bail('CAWG identity without a signature'));
  const { chain, placement } = chainOf(cose, false);
  if (!coseVerifies(cose, signerKey(chain), cawgEncoder.encode(payload))) bail('CAWG signature does not verify');
  const now = Date.now();
  credParts.push('cawg', cose.alg, placement, certificateIds(chain), chain.map((c) => [validityAt(c, now), signedAt === undefined ? null : validityAt(c, signedAt)]));
}

/** `urn:uuid:` (1.x) or `urn:c2pa:` (2.x) and a lowercase UUID, with an optional vendor prefix (`adobe:`, `contentauth:`). */
const MANIFEST_LABEL = /^([a-z][a-z0-9]*:)?urn:(uuid|c2pa):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACTIONS = /^c2pa\.actions(\.v\d+)?$/;
const INGREDIENT = /^c2pa\.ingredient(\.v\d+)?(__\d+)?$/;
const HARD_BINDING = /^c2pa\.hash\./;
/** Assertions decoded for the report (the rest are only hashed). */
const REPORTED = /^(c2pa\.actions(\.v\d+)?|cawg\.training-mining|c2pa\.training-mining)$/;

/** Tags c2pa-rs writes in assertions: RFC 8949 date-time strings and epoch times. */
const ASSERTION_CBOR = { tags: new Set([0, 1]) };

/** Claim fields c2pa-rs reads (claim.rs, Claim::from_value): any other field makes it refuse the claim. */
const CLAIM_V1_FIELDS = new Set(['claim_generator', 'claim_generator_hints', 'claim_generator_info', 'signature', 'assertions', 'dc:format', 'instanceID', 'dc:title', 'redacted_assertions', 'alg', 'alg_soft', 'metadata']);
const CLAIM_V2_FIELDS = new Set(['instanceID', 'claim_generator_info', 'signature', 'created_assertions', 'gathered_assertions', 'dc:title', 'redacted_assertions', 'alg', 'alg_soft', 'metadata']);

/** A `claim_generator_info` entry c2pa-rs decodes (claim_generator_info.rs): a text name, text version and OS, a hashed-URI icon. */
function generatorInfo(v: unknown): { name: string; version?: string } {
  // Other fields are kept by c2pa-rs as they are (serde flatten).
  if (!isRecord(v) || typeof v.name !== 'string') bail('claim_generator_info entry without a name');
  const i = v as Record<string, unknown>;
  for (const k of ['version', 'operating_system']) if (i[k] !== undefined && typeof i[k] !== 'string') bail(`claim_generator_info ${k} is not text`);
  if (i.icon !== undefined) hashedUri(i.icon);
  return { name: i.name as string, ...(typeof i.version === 'string' ? { version: i.version } : {}) };
}

/**
 * The claim's fields, checked against what c2pa-rs requires: the version follows from
 * `assertions` (1.x) or `created_assertions` (2.x) and must match the box label; required fields
 * are present with their types; optional ones, when present, have theirs (c2pa-rs would silently
 * drop a mistyped one, which the fast path does not try to mirror).
 */
function claimFields(c: Record<string, unknown>, v2: boolean): { refs: HashedUri[]; alg: string; raw: FastRawManifest } {
  if (Array.isArray(c.assertions) === Array.isArray(c.created_assertions) || Array.isArray(c.created_assertions) !== v2) bail('claim version does not match its box');
  const allowed = v2 ? CLAIM_V2_FIELDS : CLAIM_V1_FIELDS;
  for (const k of Object.keys(c)) if (!allowed.has(k)) bail(`claim field ${k}`);
  const text = (k: string, required: boolean) => {
    if (c[k] === undefined ? required : typeof c[k] !== 'string' || !(c[k] as string).length) bail(`claim ${k} missing or not text`);
  };
  for (const k of ['instanceID', 'signature']) text(k, true);
  for (const k of ['dc:title', 'alg']) text(k, false);
  // c2pa-rs refuses a claim whose hash algorithm it does not know, whether or not a hashed URI uses it.
  if (c.alg !== undefined && !HASHES.has(c.alg as string)) bail(`claim alg ${String(c.alg)}`);
  if (c.alg_soft !== undefined) bail('claim alg_soft');
  if (c.redacted_assertions !== undefined && !(Array.isArray(c.redacted_assertions) && !c.redacted_assertions.length)) bail('redacted assertions');
  if (c.metadata !== undefined) bail('claim metadata');
  const raw: FastRawManifest = { assertions: [] };
  let refs: unknown[];
  if (v2) {
    raw.claim_generator_info = [generatorInfo(c.claim_generator_info)];
    if (c.gathered_assertions !== undefined && !Array.isArray(c.gathered_assertions)) bail('gathered_assertions is not an array');
    refs = [...(c.created_assertions as unknown[]), ...((c.gathered_assertions as unknown[] | undefined) ?? [])];
  } else {
    text('claim_generator', true);
    text('dc:format', true);
    raw.claim_generator = c.claim_generator as string;
    // Optional in 1.x: c2pa-rs drops one that is not an array of entries (1.x writers put a single map there).
    if (Array.isArray(c.claim_generator_info)) raw.claim_generator_info = c.claim_generator_info.map(generatorInfo);
    if (c.claim_generator_hints !== undefined && !isRecord(c.claim_generator_hints)) bail('claim_generator_hints is not a map');
    refs = c.assertions as unknown[];
  }
  return { refs: refs.map(hashedUri), alg: typeof c.alg === 'string' ? c.alg : 'sha256', raw };
}

/** The manifest's children: one assertion store, one claim (1.x or 2.x), one signature, at most one data-box and one credential store. */
function manifestParts(m: JumbfSuperbox): { assertionStore: JumbfSuperbox; claimBox: JumbfSuperbox; sigBox: JumbfSuperbox } {
  for (const c of m.children) expectBox(c, [ROLE_OF_LABEL[c.label ?? ''] ?? bail(`unexpected box ${c.label} in the manifest`)]);
  if (m.contents.length) bail('content boxes in the manifest');
  const claims = m.children.filter((c) => c.label === 'c2pa.claim' || c.label === 'c2pa.claim.v2');
  if (claims.length !== 1) bail(`${claims.length} claims in the manifest`);
  return {
    assertionStore: childLabelled(m, 'c2pa.assertions') ?? bail('no assertion store'),
    claimBox: claims[0]!,
    sigBox: childLabelled(m, 'c2pa.signature') ?? bail('no signature'),
  };
}

export function checkManifest(buf: Uint8Array, store: JumbfSuperbox, m: JumbfSuperbox, manifests: JumbfSuperbox[]): ManifestCheck {
  const label = m.label ?? bail('manifest without a label');
  // The label is outside every hash and signature, and c2pa-rs parses it: only the two standard URN forms.
  if (!MANIFEST_LABEL.test(label)) bail(`manifest label ${JSON.stringify(label)}`);
  expectBox(m, ['c2ma']);
  const { assertionStore, claimBox, sigBox } = manifestParts(m);
  for (const a of assertionStore.children) expectBox(a, ['cbor', 'json', EMBEDDED_FILE_UUID], true);
  const claimBytes = contentOf(buf, claimBox, 'cbor');
  const claim = decodeStrict(claimBytes, 'claim');
  if (!isRecord(claim)) bail('claim is not a map');
  const c = claim as Record<string, unknown>;
  const v2 = claimBox.label === 'c2pa.claim.v2';
  const { refs, alg: claimAlg, raw } = claimFields(c, v2);
  // The claim names its signature box, in 2.x by an absolute URI that holds the manifest label.
  if (resolve(store, m, c.signature as string) !== sigBox) bail('claim does not point at its signature');
  const shapeParts: unknown[] = [v2 ? 'v2' : 'v1', label.replace(/[0-9a-f-]{36}$/, '')];
  const credParts: unknown[] = [];
  const failures: string[] = [];

  const referenced = new Set<JumbfSuperbox>();
  const identities: Record<string, unknown>[] = [];
  const hardBindings: HardBinding[] = [];
  const ingredientManifests: JumbfSuperbox[] = [];
  for (const ref of refs) {
    const box = resolve(store, m, ref.url) ?? bail(`missing assertion ${ref.url}`);
    if (!assertionStore.children.includes(box)) bail(`hashed URI ${ref.url} outside the assertion store`);
    if (referenced.has(box)) bail(`assertion ${ref.url} referenced twice`);
    const alg = ref.alg ?? claimAlg;
    if (!HASHES.has(alg)) bail(`hash algorithm ${alg}`);
    const al = box.label ?? '';
    referenced.add(box);
    const type = uuidType(box);
    // c2pa-rs decodes every CBOR assertion it knows; one it would refuse is refused here first.
    // c2pa-rs decodes known assertions into typed structures: the skeleton (keys, value types) joins the shape.
    let data: unknown;
    if (type === 'cbor') {
      const d = decodeStrictWithShape(contentOf(buf, box, 'cbor'), al, ASSERTION_CBOR);
      data = d.value;
      shapeParts.push([al, d.shape]);
    }
    if (type === 'json') shapeParts.push([al, jsonSkeleton(contentOf(buf, box, 'json'), al)]);
    if (!same(boxHash(buf, box, alg), ref.hash)) {
      // A changed assertion is reported; c2pa-rs still follows a changed ingredient to its manifest.
      if (HARD_BINDING.test(al) || REPORTED.test(al)) bail(`hash mismatch for ${ref.url}`);
      failures.push('assertion.hashedURI.mismatch');
      shapeParts.push([al, 'changed']);
      if (!INGREDIENT.test(al)) continue;
    }
    if (al.startsWith('cawg.identity')) {
      if (type !== 'cbor') bail('CAWG identity assertion is not CBOR');
      identities.push(isRecord(data) ? data : bail('CAWG identity assertion is not a map'));
    }
    const shape: unknown[] = [al];
    if (HARD_BINDING.test(al) || INGREDIENT.test(al) || REPORTED.test(al)) {
      if (type !== 'cbor') bail(`${al} is not CBOR`);
      if (!isRecord(data)) bail(`${al} is not a map`);
      const d = data as Record<string, unknown>;
      if (HARD_BINDING.test(al)) hardBindings.push({ label: al, data: d, alg: typeof d.alg === 'string' ? d.alg : claimAlg });
      else if (INGREDIENT.test(al)) {
        const target = d.c2pa_manifest ?? d.active_manifest;
        if (d.claim_signature !== undefined || (d.active_manifest !== undefined && d.c2pa_manifest !== undefined)) bail('v3 ingredient');
        if (target !== undefined) {
          const t = hashedUri(target);
          const ing = resolve(store, m, t.url);
          const talg = t.alg ?? claimAlg;
          if (!HASHES.has(talg)) bail(`hash algorithm ${talg}`);
          if (!ing || !manifests.includes(ing) || ing === m) {
            failures.push('ingredient.manifest.missing');
            shape.push(d.relationship, 'missing');
          } else {
            if (!same(boxHash(buf, ing, talg), t.hash)) bail('ingredient manifest hash mismatch');
            shape.push(d.relationship, manifests.indexOf(ing));
            ingredientManifests.push(ing);
            (raw.ingredients ??= []).push({ active_manifest: ing.label! });
          }
        } else shape.push(d.relationship, -1);
      } else {
        raw.assertions.push({ label: al, data: d });
        if (ACTIONS.test(al) && Array.isArray(d.actions)) shape.push(d.actions.map((a: unknown) => (isRecord(a) ? [a.action, a.digitalSourceType, Object.keys(a).sort().join(), isRecord(a.parameters) && Object.keys(a.parameters).sort().join()] : null)));
      }
    }
    shapeParts.push(shape);
  }
  for (const a of assertionStore.children) if (!referenced.has(a)) bail(`assertion ${a.label} not in the claim`);
  if (assertionStore.contents.length) bail('content boxes in the assertion store');

  const ts = checkSignature(buf, sigBox, claimBytes, credParts, failures);
  for (const identity of identities) checkCawgIdentity(identity, refs, credParts, ts?.ms);
  if (ts) raw.signature_info = { time: ts.time };
  return { label, raw, credParts, shapeParts, failures, hardBindings, ingredientManifests };
}
