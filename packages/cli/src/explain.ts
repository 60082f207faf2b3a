import type { CaseGroupState } from '@cms-router/routing';

/** Where a case group is, why, and what happened to it: from the router's state, in words. */
export function explainText(state: CaseGroupState): string {
  const out: string[] = [];
  const p = state.placement?.decision;
  out.push(`Case group ${state.caseGroupId}`);
  if (!p) out.push('  not placed yet (no routing decision could be made; see the history)');
  else {
    out.push(`  held in: ${p.segment}${p.region ? ` / ${p.region}` : ''}${p.team ? ` / team ${p.team}` : ''} (rules ${p.rulesVersion})`);
    if (p.requirements.length > 0) out.push(`  caseworker must be: ${p.requirements.join(', ')}`);
    if (p.handling.length > 0) out.push(`  handling: ${p.handling.join(', ')}`);
    out.push('  why:');
    for (const r of p.reasons) out.push(`    - [${r.ruleId}] ${r.text} (${r.procedure})`);
  }
  if (state.owner) {
    const o = state.owner;
    const held = p?.segment === o.segment ? '' : ` (made in segment ${o.segment}; it holds once the case group is there)`;
    out.push(`  allocated to: user ${o.userId}, team ${o.teamId}${o.available === false ? ' - unavailable, so the work is with their team leader' : ''}${held}`);
  } else out.push('  allocated to: nobody (the segment\'s unallocated work)');
  const open = Object.values(state.srPlacements);
  if (open.length > 0) {
    out.push('  open work:');
    for (const sr of open) out.push(`    - ${sr.subject === 'APPROVAL_TASK' ? 'approval task for' : 'SR'} ${sr.srId ?? ''}: ${sr.decision.segment}${sr.decision.team ? ` / ${sr.decision.team}` : ''}${sr.decision.ownerUserId ? ` / user ${sr.decision.ownerUserId}` : ''} (${sr.decision.access.toLowerCase().replace('_', '-')}) - ${sr.decision.reasons[0]?.text ?? ''}`);
  }
  out.push(`  cases: ${Object.values(state.facts.cases).map((c) => `${c.caseId} (${c.open ? 'open' : 'closed'}${c.newApplication && !c.promiseToPayIssued ? ', new application' : ''})`).join(', ')}`);
  out.push('  history (oldest first):');
  for (const h of state.history) {
    const what = h.kind === 'ASSIGNED' ? `${h.subject === 'CASE_GROUP' ? 'case group' : `${h.subject?.toLowerCase().replace('_', ' ') ?? ''} ${h.srId ?? ''}`} ${h.previousSegment ?? '(new)'} -> ${h.segment ?? ''}` : h.kind === 'REJECTED' ? `rejected ${h.ruleId ?? ''}` : 'note';
    out.push(`    ${h.at}  ${what}: ${h.text}`);
  }
  return out.join('\n');
}
