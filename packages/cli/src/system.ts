import type { CaseFact, PartyFact, SrFact, SrLifecycleEvent, WorkforceEvent } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput, type MemoryRouter, type MemoryRouterOptions } from '@cms-router/routing';
import { applySrEventsInput, partiesOfApplication, type CaseGroupSrState, type SrStep } from '@cms-router/sr-lifecycle';

/** Any record an upstream system publishes, plus SR facts (for scenarios that skip sr-events). */
export type SystemInput =
  | { readonly topic: 'cms.case-facts.v1'; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-lifecycle.v1'; readonly value: SrLifecycleEvent }
  | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact }
  | { readonly topic: 'cms.workforce.v1'; readonly value: WorkforceEvent };

/** Everything the system publishes: sr-events' facts and rejections, the router's assignments, rejections and orphan reports. */
export type SystemOutput = MemoryOutput | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact };

export interface MemorySystem {
  /** One upstream record through sr-events' core and the router's, in process. */
  process(input: SystemInput, eventId: string, source: { topic: string; partition: number; offset: string }): SystemOutput[];
  readonly router: MemoryRouter;
  srState(caseGroupId: string): CaseGroupSrState | undefined;
}

type Source = { topic: string; partition: number; offset: string };

/** A record the router reads: anything upstream publishes but SR lifecycle events, which sr-events turns into SR facts. */
type RouterInput = Exclude<SystemInput, { readonly topic: 'cms.sr-lifecycle.v1' }>;

/**
 * sr-events' core in memory: each upstream record's sr-events outputs (SR facts, rejections), with the
 * records the router reads handed to `route` in the order the services would see them: an
 * application's released SR facts before the application, a lifecycle event's facts in place of it.
 * It does not depend on the routing rules, so what-if runs one for both sides.
 */
export function createMemorySrEvents(): { process(input: SystemInput, eventId: string, source: Source, route: (input: RouterInput, eventId: string) => readonly SystemOutput[]): SystemOutput[]; state(caseGroupId: string): CaseGroupSrState | undefined } {
  const srStates = new Map<string, CaseGroupSrState>();
  const run = (steps: readonly SrStep[], out: SystemOutput[], route: (input: RouterInput, eventId: string) => readonly SystemOutput[]): void => {
    for (const step of steps) {
      if (step.outcome.kind === 'rejected') {
        out.push({ topic: 'cms.rejections.v1', value: { rejectionId: `${step.eventId}:sr`, service: 'sr-events', occurredAt: step.event.occurredAt, source: step.source, code: step.outcome.code, reason: step.outcome.reason, caseGroupId: step.event.caseGroupId, srId: step.event.srId } });
      }
      if (step.outcome.kind === 'applied') {
        step.outcome.facts.forEach((f, i) => {
          out.push({ topic: 'cms.sr-facts.v1', value: f });
          out.push(...route({ topic: 'cms.sr-facts.v1', value: f }, `${step.eventId}/${i}`));
        });
      }
    }
  };
  return {
    state: (id) => srStates.get(id),
    process(input, eventId, source, route) {
      const out: SystemOutput[] = [];
      if (input.topic === 'cms.sr-lifecycle.v1') {
        const sr = input.value;
        const r = applySrEventsInput(srStates.get(sr.caseGroupId) ?? null, { kind: 'lifecycle', event: sr, eventId, arrivedAt: sr.occurredAt, source: { ...source, eventId } }, sr.caseGroupId);
        srStates.set(sr.caseGroupId, r.state);
        run(r.steps, out, route);
        return out;
      }
      const application = input.topic === 'cms.case-facts.v1' && input.value.payload.type === 'ApplicationReceived' ? { v: input.value, a: input.value.payload } : undefined;
      if (application) {
        // sr-events learns each case's parties from its application, and may release SR events that waited for it.
        const { v, a } = application;
        const r = applySrEventsInput(srStates.get(v.caseGroupId) ?? null, { kind: 'application', caseId: v.caseId, parties: partiesOfApplication(a) }, v.caseGroupId);
        srStates.set(v.caseGroupId, r.state);
        run(r.steps, out, route);
      }
      out.push(...route(input, eventId));
      return out;
    },
  };
}

/**
 * sr-events and the router without Kafka or Redis: the same pure cores the services run. Used by
 * `simulate`, what-if, and the integration tests as the reference the running system must agree with.
 */
export function createMemorySystem(rules: Rules, options: MemoryRouterOptions = {}): MemorySystem {
  const router = createMemoryRouter(rules, options);
  const srEvents = createMemorySrEvents();
  return {
    router,
    srState: (id) => srEvents.state(id),
    process: (input, eventId, source) => srEvents.process(input, eventId, source, (x, id) => router.process(x, id, source)),
  };
}
