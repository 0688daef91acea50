import type { Finding } from '../../core/types.js';
import { signal, stringValues, textChunks, type SignalDetector } from './types.js';

/**
 * Midjourney (§8.5): website PNG downloads put the prompt and `Job ID: <uuid>` in `Description`
 * (also seen in EXIF/XMP descriptions after conversion); an `Author` chunk names the user.
 * The job id, or Midjourney's own `--ar/--v/--stylize/--chaos/--niji` flags beside an Author, is strong.
 */
const JOB_ID = /\bJob ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;
const MJ_FLAGS = /\s--(ar|v|stylize|chaos|niji)\b/;

export const midjourneyDetector: SignalDetector = {
  id: 'midjourney',
  detect(ctx) {
    const out: Finding[] = [];
    const hasAuthor = textChunks(ctx.findings, 'Author').length > 0;
    const candidates = [
      ...textChunks(ctx.findings, 'Description').map((t) => ({ ...t, kind: `${ctx.format ?? 'png'}:midjourney-description` })),
      ...stringValues(ctx.findings, 'exif:image-description').map((t) => ({ ...t, kind: 'exif:midjourney-description' })),
      ...stringValues(ctx.findings, 'xmp:description').map((t) => ({ ...t, kind: 'xmp:midjourney-description' })),
    ];
    for (const c of candidates) {
      const job = JOB_ID.exec(c.text);
      if (job) out.push(signal(c.kind, 'strong', { generator: 'Midjourney', jobId: job[1]!.toLowerCase() }, c.where));
      else if (hasAuthor && MJ_FLAGS.test(c.text)) out.push(signal(c.kind, 'strong', { generator: 'Midjourney' }, c.where));
    }
    return out;
  },
};
