/**
 * tamga: label AI-generated media on every layer and find synthetic media that is not labelled.
 * This module is the public contract: label(), detect(), verify() / scan() and their types. Internals (formats,
 * metadata builders) are importable from their files for tests but are not part of the API.
 */
export { label, detect } from './api.js';
export { TamgaError, ERROR_CODES, isTamgaError, type TamgaErrorCode } from './core/errors.js';
export {
  makeProvenance,
  classifyDigitalSourceType,
  digitalSourceTypeUri,
  parseGenerator,
  uuidv7,
  IPTC_DST_BASE,
  WRITABLE_SOURCE_TYPES,
  type Provenance,
  type ProvenanceInput,
  type DigitalSourceType,
  type HumanContribution,
  type SourceTypeClass,
} from './core/provenance.js';
export { sniff } from './core/sniff.js';
export type { Source } from './core/source.js';
export type {
  Finding,
  Layer,
  MediaKind,
  Format,
  ImageFormat,
  Policy,
  C2paConflict,
  C2paLabelOptions,
  VisiblePosition,
  LabelOptions,
  LabelResult,
  DetectOptions,
  DetectResult,
  SniffResult,
} from './core/types.js';
export { DISCLOSURE_LANGS, disclosureLine, disclosureTexts, type DisclosureLang } from './disclosure/catalogue.js';
export type { BadgeFinding } from './verify/visible.js';
export type { C2paSigner, C2paKeyPair, C2paSigningAlg } from './metadata/cose.js';
export { signC2pa, readC2pa, type C2paManifestReport, type C2paValidationState, type C2paSignOptions, type C2paReadOptions } from './metadata/c2pa.js';
export { localSigner } from './metadata/cose.js';
export { makeDevChain, DEV_CHAIN_MARK, type DevChain } from './metadata/c2pa-devcert.js';
export { strip, writeDevChain, DEV_CHAIN_FILES, type StripOptions } from './tools.js';
export { embedWatermarkFile, detectWatermarkFile, parsePayloadHex } from './watermark/file.js';
export { verify, scan, POLICY_DEFINITIONS, registerSignalDetector } from './verify/index.js';
export type {
  FileVerdict,
  Verdict,
  VerdictError,
  VerifyOptions,
  ScanOptions,
  Grade,
  SignalValue,
  LabelMark,
  PolicyDefinition,
  Requirement,
  RequirementId,
  RequirementResult,
  SignalContext,
  SignalDetector,
} from './verify/index.js';
export { checkOptOut, iterateOptOut, type OptOutItem, type OptOutOptions, type OptOutSummary } from './optout/check.js';
export { OptOutLog, type OptOutLogEntry } from './optout/log.js';
export type { OptOutPurpose, OptOutSignal, OptOutVerdict, SignalScope, SignalSource } from './optout/signals.js';
export { VERSION } from './version.js';
/** Which watermark key matched, as findings name it (`value.key`), without revealing the key. */
export { keyFingerprint } from './watermark/image-layer.js';
