import type { Finding } from '../../core/types.js';
import { fingerprintMedia } from '../../ledger/fingerprint.js';
import { ledgerReader, sha256Of, type LedgerMatch } from '../../ledger/index.js';
import { signal, type SignalDetector } from './types.js';

/**
 * Ledger matches (`--ledger`): the file is, byte for byte (`hard`) or perceptually (`strong`:
 * re-encoded, resized, reflowed), an output tamga labelled and recorded, so it is synthetic
 * whatever labels it still carries. The ledger is opened once per thread and reused for every file.
 */
export function ledgerFinding(m: LedgerMatch): Finding {
  const e = m.entry;
  return signal(
    'ledger-match',
    m.match === 'exact' ? 'hard' : 'strong',
    {
      ...(e.generator ? { generator: e.generator } : {}),
      match: m.match,
      contentId: e.contentId,
      ...(e.provider ? { provider: e.provider } : {}),
      labelledAt: e.createdAt,
      recordedKind: e.kind,
      ...(m.method ? { method: m.method } : {}),
      ...(m.distance !== undefined ? { distance: m.distance } : {}),
      ...(m.ber !== undefined ? { ber: m.ber } : {}),
      ...(m.frames !== undefined ? { frames: m.frames } : {}),
      ...(m.framesMatched !== undefined ? { framesMatched: m.framesMatched } : {}),
    },
    'ledger',
  );
}

export const ledgerDetector: SignalDetector = {
  id: 'ledger',
  async detect(ctx): Promise<Finding[]> {
    if (!ctx.ledger || !ctx.kind) return [];
    // The reader is looked up after every await: a scan ending meanwhile may have closed (and reopened) it.
    const path = ctx.ledger;
    ledgerReader(path);
    const bytes = await ctx.load();
    const media = bytes ? { bytes, ...(ctx.path ? { path: ctx.path } : {}) } : ctx.path ? { path: ctx.path } : undefined;
    if (!media) return [];
    const exact = ledgerReader(path).exact(await sha256Of(media));
    if (exact) return [ledgerFinding(exact)];
    if (!ledgerReader(path).hasFingerprints(ctx.kind)) return [];
    let fp;
    try {
      fp = await fingerprintMedia(ctx.kind, ctx.format, media);
    } catch {
      // A copy whose pixels or samples do not decode cannot be fingerprinted: no evidence, not a failure of the file.
      return [];
    }
    const match = fp && ledgerReader(path).nearest(fp);
    return match ? [ledgerFinding(match)] : [];
  },
};
