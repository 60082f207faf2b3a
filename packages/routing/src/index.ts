export { route, type RouteContext, type RouteResult, type RouterOutput } from './route.ts';
export { fromCaseFact, fromOrphanFlag, fromPartyFact, fromSrFact, fromWorkforce, type CaseGroupWorkforceFact, type RouterInput } from './inputs.ts';
export { ingest, type FanOutIndex, type IngestInput, type IngestEffects, type IngestResult } from './ingest.ts';
export { HISTORY_LIMIT, type CaseGroupState, type HistoryEntry, type Placement } from './state.ts';
export { createMemoryRouter, type MemoryRouter, type MemoryOutput } from './memory.ts';
