/** Why an archive was not loaded. The archive itself is never modified or moved. */
export type ArchiveErrorCode = 'ARCHIVE_CHECKSUM' | 'ARCHIVE_SPACE' | 'ARCHIVE_LOAD' | 'ARCHIVE_IO';

export class ArchiveRefusedError extends Error {
  readonly code: ArchiveErrorCode;
  readonly archive: string;

  constructor(code: ArchiveErrorCode, archive: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveRefusedError';
    this.code = code;
    this.archive = archive;
  }
}
