import type { TamgaErrorCode } from '../core/errors.js';

/** Exit codes of the `tamga` command (README "Exit codes"). Stable: scripts depend on them. */
export const EXIT = {
  OK: 0,
  /** A QA condition failed (e.g. `detect --require-label` found an unlabelled file). */
  CHECK_FAILED: 1,
  /** Bad command line or option value. */
  USAGE: 2,
  /** An input could not be used: unreadable, corrupt, unsupported, unsafe XML, C2PA conflict. */
  INPUT: 3,
  /** The output could not be written (or the metadata does not fit the container). */
  OUTPUT: 4,
  /** A bug: an unexpected exception. Please report it with the input. */
  INTERNAL: 70,
} as const;

export function exitCodeFor(code: TamgaErrorCode): number {
  switch (code) {
    case 'INVALID_OPTION':
    case 'POLICY_UNMET':
      return EXIT.USAGE;
    case 'WRITE_FAILED':
    case 'METADATA_TOO_LARGE':
      return EXIT.OUTPUT;
    default:
      return EXIT.INPUT;
  }
}
