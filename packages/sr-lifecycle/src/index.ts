export { applySrEvent } from './apply.ts';
export { applySrEventsInput, expireSrWaiting, oldestSrWaiting, partiesOfApplication, type SrEventsInput, type SrEventsResult, type SrStep } from './case-group.ts';
export { addMonths, emptyState, kindOf, NON_STANDARD_REASONS, PI_REASONS, RESOLUTION, SUB_STATUS, type CaseGroupSrState, type Party, type SrContext, type SrKind, type SrOutcome, type SrRecord, type SrSource, type WaitingSrEvent } from './machine.ts';
