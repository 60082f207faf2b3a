export { simulate, parseScenario, toJsonLines, toTable, SIMULATED_TOPICS, type SimulationLine, type SimulatedOutput } from './simulate.ts';
export { createMemorySystem, type MemorySystem, type SystemInput, type SystemOutput } from './system.ts';
export { explainText } from './explain.ts';
export { playTraffic, type TrafficRun, type TrafficResult } from './traffic.ts';
export { readCaseGroup } from './stored-state.ts';
export { createWhatIf, whatIfCsv, whatIfHtml, whatIfText, type WhatIf, type WhatIfMove, type WhatIfReport, type Where } from './what-if.ts';
export { createInboxSpool, readSpool, spoolPartition, whatIfFromInbox, whatIfFromScenario, type Progress, type SpooledRecord } from './what-if-sources.ts';
export { rebuild, REBUILDABLE, type RebuildPlan, type RebuildResult, type StageTopology } from './rebuild.ts';
