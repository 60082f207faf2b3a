export { simulate, parseScenario, toJsonLines, toTable, SIMULATED_TOPICS, type SimulationLine, type SimulatedOutput } from './simulate.ts';
export { createMemorySystem, type MemorySystem, type SystemInput, type SystemOutput } from './system.ts';
export { explainText } from './explain.ts';
export { playTraffic, type TrafficRun, type TrafficResult } from './traffic.ts';
export { readCaseGroup } from './stored-state.ts';
