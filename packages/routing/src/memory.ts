import { type Assignment, type Rejection } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { ingest, type IngestInput } from './ingest.ts';
import { route } from './route.ts';
import type { CaseGroupState } from './state.ts';

export type MemoryOutput = { readonly topic: 'cms.assignments.v1'; readonly value: Assignment } | { readonly topic: 'cms.rejections.v1'; readonly value: Rejection };

export interface MemoryRouter {
  /** Runs one input through the same ingest and route code the service runs. */
  process(input: IngestInput, eventId: string, source: { topic: string; partition: number; offset: string }): MemoryOutput[];
  state(caseGroupId: string): CaseGroupState | undefined;
  caseGroups(): string[];
}

/** The router without Kafka or Redis: state in maps. Used by `simulate` and by tests. */
export function createMemoryRouter(rules: Rules): MemoryRouter {
  const states = new Map<string, CaseGroupState>();
  const partyIndex = new Map<string, Set<string>>();
  const userIndex = new Map<string, Set<string>>();
  const teamLeaders = new Map<string, string>();
  const rejection = (eventId: string, source: { topic: string; partition: number; offset: string }, occurredAt: string, code: string, reason: string, caseGroupId: string | null, srId: string | null, n: number): MemoryOutput => ({
    topic: 'cms.rejections.v1',
    value: { rejectionId: `${eventId}:${n}`, service: 'router', occurredAt, source: { ...source, eventId }, code, reason, caseGroupId, srId },
  });
  return {
    process(input, eventId, source) {
      const ingested = ingest(input, { caseGroupsOfParty: (partyId) => [...(partyIndex.get(partyId) ?? [])], caseGroupsOfUser: (userId) => [...(userIndex.get(userId) ?? [])] });
      if (!ingested.ok) return [rejection(eventId, source, input.value.occurredAt, ingested.code, ingested.reason, ingested.caseGroupId, null, 0)];
      for (const { partyId, caseGroupId } of ingested.effects.partyJoined) partyIndex.set(partyId, new Set([...(partyIndex.get(partyId) ?? []), caseGroupId]));
      if (ingested.effects.userHolds) userIndex.set(ingested.effects.userHolds.userId, new Set([...(userIndex.get(ingested.effects.userHolds.userId) ?? []), ingested.effects.userHolds.caseGroupId]));
      if (ingested.effects.teamLeader) teamLeaders.set(ingested.effects.teamLeader.teamId, ingested.effects.teamLeader.userId);
      const out: MemoryOutput[] = [];
      ingested.inputs.forEach((routerInput, i) => {
        const inputEventId = ingested.inputs.length > 1 ? `${eventId}/${routerInput.caseGroupId}` : eventId;
        const result = route(states.get(routerInput.caseGroupId) ?? null, routerInput, { rules, teamLeaderOf: (t) => teamLeaders.get(t) ?? null, eventId: inputEventId });
        if (result.state) states.set(routerInput.caseGroupId, result.state);
        for (const o of result.outputs) {
          if (o.kind === 'assignment') out.push({ topic: 'cms.assignments.v1', value: o.value });
          else out.push(rejection(inputEventId, source, routerInput.occurredAt, o.code, o.reason, routerInput.caseGroupId, o.srId, out.length + i));
        }
      });
      return out;
    },
    state: (id) => states.get(id),
    caseGroups: () => [...states.keys()].sort(),
  };
}
