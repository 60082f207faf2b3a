export { readStackSettings, endpointsOf, paths, REPO_ROOT, SERVICE_NAMES, type ServiceName, type StackEndpoints, type StackSettings } from './settings.ts';
export { up, down, status, logTail, type ServiceStatus, type Say } from './stack.ts';
export { findJava, javaMajor } from './java.ts';
export { portFree, pollUntil, spawnDetached, readPid, isAlive } from './process.ts';
