/**
 * trace-cmd `trace.dat` (file versions 6 and 7) read in TypeScript, without trace-cmd: the
 * container ({@link parseTraceDat}), the ring-buffer pages and the per-CPU merge ({@link datLines}).
 */
export { TRACE_DAT_MAGIC, isTraceDat, parseTraceDat, type TraceDat, type CpuBuffer } from './file.js';
export { CpuCursor, DatFormatter, RecordMerge, datLines, lostLine, mergedRecords, type DatRecord, type RecordBytes } from './records.js';
export { parseEventFormat, parsePageHeader, stateFlags, type EventFormat, type FieldFormat, type PageHeader } from './format.js';
