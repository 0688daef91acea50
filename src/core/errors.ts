/**
 * Every failure tamga reports on purpose is a TamgaError with a stable `code`.
 * Codes are part of the public contract (CLI JSON, exit codes): add new ones, never rename.
 */
export const ERROR_CODES = {
  /** The input is not a format tamga handles (or the adapter for its media kind has not landed). */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /** The input claims a format but its structure is broken (truncated, bad lengths, bad CRC...). */
  CORRUPT_INPUT: 'CORRUPT_INPUT',
  /** The input could not be read (missing file, permission, I/O error). */
  READ_FAILED: 'READ_FAILED',
  /** The output could not be written; no partial file is left under the final name. */
  WRITE_FAILED: 'WRITE_FAILED',
  /** An option or argument has a wrong value; the message names it. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** The metadata does not fit the container (e.g. a JPEG APP1 segment is limited to 64 KiB). */
  METADATA_TOO_LARGE: 'METADATA_TOO_LARGE',
  /** Untrusted XML (XMP) was refused: DTD, entity, malformed, or too deep. */
  UNSAFE_XML: 'UNSAFE_XML',
  /** The input carries a C2PA manifest that a lossless edit would invalidate. */
  C2PA_CONFLICT: 'C2PA_CONFLICT',
  /** The input exceeds a configured size limit. */
  INPUT_TOO_LARGE: 'INPUT_TOO_LARGE',
  /** The input is encrypted (e.g. a PDF with /Encrypt): tamga does not decrypt and re-encrypt documents. */
  ENCRYPTED_INPUT: 'ENCRYPTED_INPUT',
  /** ffmpeg/ffprobe could not be run or failed; `details.stderr` holds the tail of its stderr. */
  FFMPEG_FAILED: 'FFMPEG_FAILED',
  /** The job queue (Redis, `--queue`) could not be reached, answered an error, or a job there is missing or unfinished. */
  QUEUE_FAILED: 'QUEUE_FAILED',
  /** The ledger (`--ledger`, SQLite) could not be opened, read or written: not a ledger, corrupt, locked, or a newer schema. */
  LEDGER_FAILED: 'LEDGER_FAILED',
} as const;

export type TamgaErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class TamgaError extends Error {
  override readonly name = 'TamgaError';
  readonly code: TamgaErrorCode;
  /** Extra machine-readable context (file, offset, option...). */
  readonly details: Record<string, unknown>;

  constructor(code: TamgaErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): { name: string; code: TamgaErrorCode; message: string; details: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export function isTamgaError(e: unknown): e is TamgaError {
  return e instanceof TamgaError;
}

/** Shorthand for the most common failure: a structural defect at a known place. */
export function corrupt(format: string, what: string, offset?: number): TamgaError {
  const at = offset === undefined ? '' : ` at byte ${offset}`;
  return new TamgaError('CORRUPT_INPUT', `${format}: ${what}${at}`, offset === undefined ? { format } : { format, offset });
}

const FS_ERROR_TEXT: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a folder',
  EEXIST: 'output exists (overwrite not allowed)',
  EXDEV: 'cannot be moved across file systems',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
};

/**
 * A file-system error in words for a message that already names the user's path: never the raw
 * errno string, whose path may be an internal temp file (the errno stays in `details.errno`).
 */
export function fsErrorText(e: unknown, fallback = 'cannot be written'): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return (code && FS_ERROR_TEXT[code]) ?? fallback;
}
