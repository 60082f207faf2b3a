export { simulate, toJsonLines, toTable, type SimulationLine } from './simulate.ts';
export { explainText } from './explain.ts';
export { playTraffic, type TrafficRun, type TrafficResult } from './traffic.ts';
