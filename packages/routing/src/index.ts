export { route, expireWaiting, oldestWaiting, needsOf, factsOf, effectiveSpecial, orphanOf, applyUserFact, applyTeamFact, dependencyChanges, type RouteEnv, type RouteMemo, type RouteResult, type RouterOutput } from './route.ts';
export { ingestRoutes, peopleInputOf, routeInputOf, partitionInputOf, inboxInputOf, isPartitionInput, type InboxInput, type UpstreamInput, type PeopleInput, type RouteInput, type PartitionInput, type IngestRoutes, type UserFact, type TeamFact, type AllocationFact, type CaseGroupSrFact } from './inputs.ts';
export { applyPeopleInput, snapshotOf, MANUAL_PI_REASONS, type PersonState, type PeopleResult, type Attr } from './people.ts';
export { HISTORY_LIMIT, emptyCaseGroup, awaitedPersons, type CaseGroupState, type HistoryEntry, type Placement, type WaitingFact, type CaseRecord, type Allocation, type PendingMove, type Dependencies, type UserDoc, type TeamDoc, type Departure, type SourceRef } from './state.ts';
export { createMemoryRouter, DEFAULT_WAIT_EXPIRY_MS, type MemoryRouter, type MemoryOutput, type MemoryRouterOptions } from './memory.ts';
export { fromStored, toStored, historySlots, withStoredHistory, HISTORY_KEYS, type StoredCaseGroup, type Loaded } from './stored.ts';
export { placementRecords, type PlacementRecord } from './placements.ts';
