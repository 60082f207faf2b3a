import { HISTORY_KEYS } from '@cms-router/routing';

/**
 * The router's state keys, in one place. Each stage's state lives in Redis under
 * `<REDIS_KEY_PREFIX>:<stage>:<key>` and in the stage's changelog under `<key>`. Keys of one partition's
 * own copies (users, teams, indexes) carry the partition: every route partition keeps its own.
 */
export const STAGES = { people: 'router-people', route: 'router-route' } as const;

export const STATE_KEYS = {
  /** A person in the registry (people stage). */
  person: (partyId: string) => `person:${partyId}`,
  /** A case group (route stage). */
  caseGroup: (caseGroupId: string) => `cg:${caseGroupId}`,
  /** One slot of a case group's history ring (route stage): its own prefix, so `cg:*` finds documents only. */
  historyEntry: HISTORY_KEYS.entry,
  /** A route partition's copy of a user: availability, departures. */
  user: (task: number, userId: string) => `p${task}:user:${userId}`,
  /** A route partition's copy of a team: its leader. */
  team: (task: number, teamId: string) => `p${task}:team:${teamId}`,
  /** Case groups of a route partition whose placement depends on a user or a team (`user:<id>` / `team:<id>`). */
  index: (task: number, dependency: string) => `p${task}:idx:${dependency}`,
  /** Case groups of a route partition with facts waiting, and the oldest arrival of each: one of WAITING_BUCKETS shares. */
  waiting: (task: number, bucket: number) => `p${task}:waiting:${bucket}`,
  /** The same, as one document (before the shares): still read, emptied as its case groups change. */
  waitingLegacy: (task: number) => `p${task}:waiting`,
} as const;

/**
 * The waiting index is split in shares by case group, so a case group that starts or stops waiting
 * rewrites 1/WAITING_BUCKETS of it, not the whole partition's (it was the route stage's largest write
 * under a burst where applications come after their facts).
 */
export const WAITING_BUCKETS = 32;

export function waitingBucket(caseGroupId: string): number {
  let h = 0;
  for (let i = 0; i < caseGroupId.length; i += 1) h = (h * 31 + caseGroupId.charCodeAt(i)) | 0;
  return (h >>> 0) % WAITING_BUCKETS;
}
