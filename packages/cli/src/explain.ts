import type { Assignment } from '@cms-router/events';
import type { CaseGroupState, HistoryEntry } from '@cms-router/routing';

const ago = (iso: string, now: Date): string => {
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  const h = ms / 3_600_000;
  return h < 1 ? `${Math.round(ms / 60_000)} min` : h < 48 ? `${Math.round(h)} h` : `${Math.round(h / 24)} days`;
};

/**
 * Where a case group is, why, and what happened to it: from the router's state, in words. Party ids and
 * roles only: no postcodes, names or flags' reasons.
 */
export function explainText(state: CaseGroupState, now = new Date()): string {
  const out: string[] = [];
  const p = state.placement?.decision;
  out.push(`Case group ${state.caseGroupId}`);
  if (state.payingParentId === null) out.push('  no application received yet: its facts wait for it (see "waiting")');
  else if (!p) out.push('  not placed yet (no routing decision could be made, or it waits for the facts of its people; see the history)');
  else {
    out.push(`  held in: ${p.segment}${p.region ? ` / ${p.region}` : ''}${p.team ? ` / team ${p.team}` : ''}${p.ownerUserId ? ` / user ${p.ownerUserId}` : ''} (rules ${p.rulesVersion})`);
    if (p.requirements.length > 0) out.push(`  caseworker must be: ${p.requirements.join(', ')}`);
    if (p.handling.length > 0) out.push(`  handling: ${p.handling.join(', ')}`);
    out.push('  why:');
    for (const r of p.reasons) out.push(`    - [${r.ruleId}] ${r.text} (${r.procedure})`);
  }
  if (state.pendingMove) {
    const m = state.pendingMove.decision;
    out.push(`  move pending: to ${m.segment}${m.region ? ` / ${m.region}` : ''}${m.team ? ` / team ${m.team}` : ''}, when SR ${state.pendingMove.heldBy.join(', ')} ${state.pendingMove.heldBy.length === 1 ? 'is' : 'are'} completed`);
  }
  if (state.allocation) {
    const a = state.allocation;
    const held = p?.segment === a.segment ? '' : ` (made in segment ${a.segment}; it holds while the case group is there)`;
    const orphaned = state.recoveredFrom && state.recoveredFrom.allocationAt === a.at ? ` - orphaned (${state.recoveredFrom.cause}, since ${state.recoveredFrom.since}) and returned to the segment's unallocated work` : '';
    out.push(`  allocated to: user ${a.userId}, team ${a.teamId}, since ${a.at}${held}${orphaned}`);
  } else out.push("  allocated to: nobody (the segment's unallocated work)");
  const open = Object.values(state.srPlacements);
  if (open.length > 0) {
    out.push('  open work:');
    for (const sr of open) out.push(`    - ${sr.subject === 'APPROVAL_TASK' ? 'approval task for' : 'SR'} ${sr.srId ?? ''}: ${sr.decision.segment}${sr.decision.team ? ` / ${sr.decision.team}` : ''}${sr.decision.ownerUserId ? ` / user ${sr.decision.ownerUserId}` : ''} (${sr.decision.access.toLowerCase().replace('_', '-')}) - ${sr.decision.reasons[0]?.text ?? ''}`);
  }
  const cases = Object.values(state.cases);
  if (cases.length > 0) out.push(`  cases: ${cases.map((c) => `${c.caseId} (${c.open ? 'open' : 'closed'}${c.newApplication && !c.promiseToPayIssued ? ', new application' : ''}; ${c.parties.map((x) => `${x.partyId} ${x.role.toLowerCase().replace(/_/g, ' ')}`).join(', ')})`).join('; ')}`);
  const awaited = [...new Set(cases.flatMap((c) => c.parties.map((x) => x.partyId)))].filter((id) => !(id in state.persons)).sort();
  if (awaited.length > 0) out.push(`  waiting for the person registry's facts on: ${awaited.join(', ')}`);
  if (state.waiting.length > 0) {
    const oldest = state.waiting.reduce((a, w) => (w.arrivedAt < a ? w.arrivedAt : a), state.waiting[0]?.arrivedAt ?? '');
    out.push(`  waiting: ${state.waiting.length} ${state.waiting.length === 1 ? 'fact' : 'facts'}, the oldest for ${ago(oldest, now)} (${[...new Set(state.waiting.map((w) => (w.waitsFor === 'application' ? 'the application' : `the application of case ${w.waitsFor.slice(5)}`)))].join(', ')})`);
  }
  out.push('  history (oldest first, by business time):');
  const ordered: HistoryEntry[] = state.history.map((h, i) => ({ h, i })).sort((a, b) => (a.h.at < b.h.at ? -1 : a.h.at > b.h.at ? 1 : a.i - b.i)).map((x) => x.h);
  for (const h of ordered) {
    const what =
      h.kind === 'ASSIGNED' ? `${h.subject === 'CASE_GROUP' ? 'case group' : `${h.subject?.toLowerCase().replace('_', ' ') ?? ''} ${h.srId ?? ''}`} ${h.previousSegment ?? '(new)'} -> ${h.segment ?? ''}` : h.kind === 'REJECTED' ? `rejected ${h.ruleId ?? ''}` : h.kind === 'WAITING' ? 'waiting' : 'note';
    out.push(`    ${h.at}  ${what}: ${h.text}`);
  }
  return out.join('\n');
}

/**
 * A case group's whole assignment history, from cms.assignments.v1 (kept forever), oldest first: when,
 * which work item, from -> to, the rules version that decided and the deciding reason. Ids and places
 * only, as the assignments themselves.
 */
export function assignmentHistoryText(assignments: readonly Assignment[]): string {
  const out = [`  every assignment (cms.assignments.v1, ${assignments.length}):`];
  for (const a of assignments) {
    const item = a.subject === 'CASE_GROUP' ? 'case group' : `${a.subject === 'APPROVAL_TASK' ? 'approval task' : 'SR'} ${a.srId ?? ''}`;
    const where = [a.segment, a.region, a.team, a.ownerUserId ? `user ${a.ownerUserId}` : null].filter(Boolean).join(' / ');
    out.push(`    ${a.occurredAt}  ${item}: ${a.previousSegment ?? '(new)'} -> ${where} (rules ${a.rulesVersion}) - [${a.reasons[0]?.ruleId ?? ''}] ${a.reasons[0]?.text ?? ''}${a.reasons.some((r) => r.ruleId === 'reroute') ? ' (re-route)' : ''}${a.basis ? `; on ${a.basis.input} ${a.basis.eventId}` : ''}`);
  }
  return out.join('\n');
}
