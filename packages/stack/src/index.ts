export { readStackSettings, endpointsOf, paths, REPO_ROOT, SERVICE_NAMES, type ServiceName, type StackEndpoints, type StackSettings } from './settings.ts';
export { up, down, status, logTail, restart, type ServiceStatus, type Say } from './stack.ts';
export { findJava, javaMajor } from './java.ts';
export { portFree, pollUntil, spawnDetached, readPid, isAlive } from './process.ts';
export { supervise, restartDelay } from './supervise.ts';
export { ensureTools, installPlan, TOOLS, type Tool } from './install.ts';
export { kafkaClusterId, kafkaRuntime, REGISTRY_TOPICS } from './services.ts';
export { DEMO_PASSWORD, DEMO_USERS, type DemoUser } from './demo-users.ts';
