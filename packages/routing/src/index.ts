export { route, type RouteContext, type RouteResult, type RouterOutput } from './route.ts';
export { fromCaseFact, fromPartyFact, fromSrFact, fromWorkforce, type RouterInput } from './inputs.ts';
export { ingest, type IngestInput, type IngestEffects, type IngestResult } from './ingest.ts';
export { HISTORY_LIMIT, type CaseGroupState, type HistoryEntry, type Placement } from './state.ts';
export { createMemoryRouter, type MemoryRouter, type MemoryOutput } from './memory.ts';
