export { applySrEvent } from './apply.ts';
export { addMonths, emptyState, kindOf, NON_STANDARD_REASONS, PI_REASONS, RESOLUTION, SUB_STATUS, type CaseGroupSrState, type Party, type SrContext, type SrKind, type SrOutcome, type SrRecord } from './machine.ts';
