import type { ErrorCode } from '@cms-router/errors';
import type { SrFact, SrLifecycleEvent } from '@cms-router/events';
import { addMonths, kindOf, same, SEEN_LIMIT, NON_STANDARD_REASONS, PI_REASONS, RESOLUTION, SUB_STATUS, type CaseGroupSrState, type SrContext, type SrOutcome, type SrRecord } from './machine.ts';

const STATUS_WORDS: Record<SrRecord['status'], string> = { OPEN: 'Open', IN_PROGRESS: 'In Progress', PENDING_APPROVAL: 'Pending Approval', CLOSED: 'Closed', CANCELLED: 'Cancelled' };

type Payload = SrLifecycleEvent['payload'];

/**
 * Applies one SR lifecycle event to a case group's SR state. Pure and deterministic.
 * - An exact duplicate (same event id, or a change to the state the SR is already in) changes nothing.
 * - An event for an SR that was never created is rejected (CMS_UNKNOWN_SR); `applySrEventsInput` keeps such
 *   events waiting for the SrCreated first, so only an SR that never comes ends that way (after the expiry).
 * - An invalid transition is rejected with a reason a person can act on, and the state is unchanged.
 * - A valid one returns the new state and the routing facts it derives (cms.sr-facts.v1).
 */
export function applySrEvent(state: CaseGroupSrState, event: SrLifecycleEvent, ctx: SrContext): SrOutcome {
  if (state.seen.includes(ctx.eventId)) return { kind: 'duplicate', state };
  const seen = [...state.seen, ctx.eventId].slice(-SEEN_LIMIT);
  const reject = (code: ErrorCode, reason: string): SrOutcome => ({ kind: 'rejected', state: { ...state, seen }, code, reason });
  const fact = (payload: SrFact['payload']): SrFact => ({ caseGroupId: event.caseGroupId, caseId: event.caseId, srId: event.srId, occurredAt: event.occurredAt, payload });
  const srChange = (sr: SrRecord, change: 'OPENED' | 'PENDING_APPROVAL' | 'COMPLETED' | 'CANCELLED'): SrFact =>
    fact({ type: 'ServiceRequestChanged', process: sr.process, area: sr.area, subArea: sr.subArea, raisedAgainstPartyId: sr.raisedAgainstPartyId, change, ownerUserId: sr.createdBy.userId, ownerTeamId: sr.createdBy.teamId });
  const applied = (sr: SrRecord, facts: SrFact[], extra: Partial<CaseGroupSrState> = {}, note: string | null = null): SrOutcome => ({
    kind: 'applied',
    state: { ...state, ...extra, srs: { ...state.srs, [sr.srId]: sr }, seen },
    facts,
    note,
  });
  const p: Payload = event.payload;
  const existing = state.srs[event.srId];
  const who = `${event.actor.role.toLowerCase().replace('_', ' ')} ${event.actor.userId}`;

  if (p.type === 'SrCreated') {
    const kind = kindOf(p.process, p.area, p.subArea);
    if (existing) {
      if (same(existing.process, p.process) && same(existing.area, p.area) && same(existing.subArea, p.subArea)) return { kind: 'duplicate', state: { ...state, seen } };
      return reject('CMS_SR_INVALID_TRANSITION', `SR ${event.srId} already exists as "${existing.process} / ${existing.area} / ${existing.subArea}"`);
    }
    const missing: string[] = [];
    const invalid: string[] = [];
    const reasonOf = (reasons: Readonly<Record<string, unknown>>): void => {
      if (!p.reason) missing.push(`a reason (one of ${Object.keys(reasons).join(', ')})`);
      else if (!(p.reason in reasons)) invalid.push(`the reason given is not one of ${Object.keys(reasons).join(', ')} (not repeated here: a referral's reason is personal data)`);
    };
    if (kind === 'NON_STANDARD_REFERRAL') {
      // 000 step 8: "Select the appropriate reason"; step 9: "record the source of the referral".
      reasonOf(NON_STANDARD_REASONS);
      if (!p.sourceOfReferral) missing.push('the source of the referral (000 step 9)');
    }
    if (kind === 'PI_REFERRAL') {
      // 003 step 7: "Check the lock assignment flag is not selected ... Reason - select the most appropriate reason".
      if (p.lockAssignment) return reject('CMS_SR_MANDATORY_FIELD', `cannot create SR ${event.srId}: the lock-assignment flag must not be selected on a personal-interest referral (003 steps 5 and 7)`);
      reasonOf(PI_REASONS);
      if (!p.raisedAgainstPartyId) missing.push('the client referred (raisedAgainstPartyId)');
    }
    if (kind === 'PI_CESSATION' && !p.raisedAgainstPartyId) missing.push('the client whose flag is removed (raisedAgainstPartyId)');
    if (missing.length > 0 || invalid.length > 0) {
      const parts = [...(missing.length > 0 ? [`${missing.join('; ')} ${missing.length === 1 ? 'is' : 'are'} mandatory`] : []), ...invalid];
      return reject('CMS_SR_MANDATORY_FIELD', `cannot create SR ${event.srId}: ${parts.join('; ')}`);
    }
    // The client of a personal-interest SR must be a party of the SR's case (003 step 7: "refer the case and contact").
    if ((kind === 'PI_REFERRAL' || kind === 'PI_CESSATION') && p.raisedAgainstPartyId) {
      const client = p.raisedAgainstPartyId;
      const inGroup = Object.values(state.cases).some((ps) => ps.some((x) => x.partyId === client));
      const inCase = (state.cases[event.caseId] ?? []).some((x) => x.partyId === client);
      if (!inGroup) return reject('CMS_SR_PARTY_MISSING', `cannot create SR ${event.srId}: it is raised against ${client}, who is not a party of case group ${event.caseGroupId}`);
      if (!inCase) return reject('CMS_SR_PARTY_MISSING', `cannot create SR ${event.srId}: it is raised against ${client}, who is not a party of case ${event.caseId} (raise it on a case the client is a party to)`);
    }
    const sr: SrRecord = {
      srId: event.srId,
      caseId: event.caseId,
      kind,
      process: p.process,
      area: p.area,
      subArea: p.subArea,
      reason: p.reason,
      raisedAgainstPartyId: p.raisedAgainstPartyId,
      createdBy: { userId: event.actor.userId, role: event.actor.role, teamId: event.actor.teamId },
      status: 'OPEN',
      subStatus: null,
      resolutionCode: null,
      activities: null,
      approval: 'NONE',
      approvedBy: null,
    };
    return applied(sr, [srChange(sr, 'OPENED')]);
  }

  if (!existing) {
    return reject('CMS_UNKNOWN_SR', `SR ${event.srId} has not been created (no SrCreated received for case group ${event.caseGroupId}); publish it first, then replay this event`);
  }
  const sr = existing;
  if ((sr.status === 'CLOSED' || sr.status === 'CANCELLED') && !(p.type === 'SrStatusChanged' && p.status === sr.status && same(p.subStatus, sr.subStatus ?? '') && same(p.resolutionCode, sr.resolutionCode ?? ''))) {
    return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} is ${STATUS_WORDS[sr.status].toLowerCase()}; it cannot change any more`);
  }
  const isTeamLeader = event.actor.role === 'TEAM_LEADER';
  const selfAuthorising = isTeamLeader && sr.createdBy.role === 'TEAM_LEADER';
  const needsApproval = sr.kind === 'NON_STANDARD_REFERRAL' || sr.kind === 'PI_REFERRAL';

  const notApproved = (resolution: string, inbox: string, self: string): string =>
    `cannot close SR ${sr.srId} as ${resolution}: a team leader has not approved the referral. A caseworker's referral goes to Pending Approval for the team leader's decision (${inbox}); only a team leader who raised the referral closes it without that approval (${self})`;

  const decide = (decision: 'APPROVED' | 'REJECTED'): SrOutcome => {
    // 003 step 10 / 000 step 18: approval -> In Progress / Approved. 003 step 11 / 000 step 22: rejection -> In Progress / Rejected.
    const next: SrRecord = { ...sr, status: 'IN_PROGRESS', subStatus: decision === 'APPROVED' ? SUB_STATUS.approved : SUB_STATUS.rejected, approval: decision, approvedBy: event.actor.userId };
    const facts = [srChange(next, 'OPENED')];
    if (decision === 'REJECTED') facts.unshift(fact({ type: 'ReferralRejected', referringUserId: sr.createdBy.userId, referralArea: sr.area }));
    return applied(next, facts, {}, decision === 'REJECTED' ? 'the referral was rejected; the case stays with the referring caseworker' : null);
  };

  switch (p.type) {
    case 'ActivityPlanGenerated': {
      // 004: "The activity plan is generated automatically once the status of the SR has been started."
      if (sr.status === 'OPEN') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: an activity plan is generated when the SR is started (In Progress), and it is still Open`);
      const ids = p.activities.map((a) => a.activityId).sort();
      if (sr.activities) {
        if (JSON.stringify(Object.keys(sr.activities).sort()) === JSON.stringify(ids)) return { kind: 'duplicate', state: { ...state, seen } };
        return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} already has an activity plan with other activities`);
      }
      return applied({ ...sr, activities: Object.fromEntries(ids.map((id) => [id, false])) }, []);
    }
    case 'ActivityCompleted': {
      if (!sr.activities || !(p.activityId in sr.activities)) return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} has no activity ${p.activityId}`);
      if (sr.activities[p.activityId] === true) return { kind: 'duplicate', state: { ...state, seen } };
      return applied({ ...sr, activities: { ...sr.activities, [p.activityId]: true } }, []);
    }
    case 'ApprovalDecided': {
      if (!isTeamLeader) return reject('CMS_SR_NOT_AUTHORISED', `SR ${sr.srId}: only a team leader decides an approval (${who} tried)`);
      const decided = p.decision === 'APPROVED' ? 'APPROVED' : 'REJECTED';
      if (sr.approval === decided && sr.status === 'IN_PROGRESS') return { kind: 'duplicate', state: { ...state, seen } };
      if (sr.status !== 'PENDING_APPROVAL') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} is not pending approval (it is ${STATUS_WORDS[sr.status]}); refer it with status Pending Approval first`);
      return decide(decided);
    }
    case 'SrStatusChanged':
      break;
  }

  // Status changes.
  const to = p.status;
  if (sr.status === to && same(p.subStatus, sr.subStatus ?? '') && same(p.resolutionCode, sr.resolutionCode ?? '')) return { kind: 'duplicate', state: { ...state, seen } };
  const set = (over: Partial<SrRecord>): SrRecord => ({ ...sr, status: to, subStatus: p.subStatus, resolutionCode: p.resolutionCode, ...over });

  if (to === 'CANCELLED') return applied(set({}), [srChange(sr, 'CANCELLED')]);

  if (to === 'IN_PROGRESS') {
    if (same(p.subStatus, SUB_STATUS.approved) || same(p.subStatus, SUB_STATUS.rejected)) {
      if (sr.status === 'PENDING_APPROVAL') {
        // The system applying a team leader's inbox decision (003 step 10-11).
        if (!isTeamLeader && event.actor.role !== 'SYSTEM') return reject('CMS_SR_NOT_AUTHORISED', `SR ${sr.srId}: only a team leader decides an approval (${who} tried)`);
        return decide(same(p.subStatus, SUB_STATUS.approved) ? 'APPROVED' : 'REJECTED');
      }
      if (same(p.subStatus, SUB_STATUS.approved)) {
        // 003 step 5 / 000 step 4: "Team leaders who launch a referral can self authorise".
        if (!needsApproval) return applied(set({}), []);
        if (!selfAuthorising) return reject('CMS_SR_NOT_AUTHORISED', `SR ${sr.srId}: only the team leader who raised a referral may approve it without the approval inbox (${who} tried); refer it for approval (Pending Approval)`);
        return applied(set({ approval: 'APPROVED', approvedBy: event.actor.userId }), [], {}, 'self-authorised by the team leader who raised it');
      }
      if (sr.approval !== 'REJECTED') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: sub status Rejected comes from a team leader's rejection in the approval inbox`);
      return applied(set({}), []);
    }
    if (sr.status === 'PENDING_APPROVAL') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} is pending approval; a team leader must approve or reject it first`);
    return applied(set({ subStatus: p.subStatus ?? sr.subStatus }), []);
  }

  if (to === 'PENDING_APPROVAL') {
    if (!needsApproval) return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} ("${sr.process} / ${sr.area} / ${sr.subArea}") does not go to a team leader for approval`);
    if (sr.status !== 'IN_PROGRESS') return reject('CMS_SR_INVALID_TRANSITION', `cannot refer SR ${sr.srId} for approval: update its status to In Progress first (000 step 11, 003 step 7)`);
    if (sr.approval === 'APPROVED') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} is already approved`);
    if (sr.kind === 'PI_REFERRAL' && !same(p.subStatus, SUB_STATUS.pendingApprovalTl)) {
      return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: a personal-interest referral goes to Pending Approval with sub status "${SUB_STATUS.pendingApprovalTl}" (003 step 9)`);
    }
    // 003 step 9: "A task is automatically created in the TL approval inbox."
    const next = set({ approval: 'PENDING' });
    return applied(next, [srChange(next, 'PENDING_APPROVAL')]);
  }

  if (to === 'OPEN') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId} cannot go back to Open`);

  // to === 'CLOSED'
  if (sr.status === 'OPEN') return reject('CMS_SR_INVALID_TRANSITION', `cannot close SR ${sr.srId}: it was never started (In Progress)`);
  if (sr.status === 'PENDING_APPROVAL') return reject('CMS_SR_INVALID_TRANSITION', `cannot close SR ${sr.srId}: it is pending approval by a team leader`);
  const open = Object.values(sr.activities ?? {}).filter((done) => !done).length;
  // 004: "The SR cannot be closed with open activities."
  if (open > 0) return reject('CMS_SR_INVALID_TRANSITION', `cannot close SR ${sr.srId}: ${open} ${open === 1 ? 'activity' : 'activities'} open`);
  const closed = set({});
  const completed = srChange(closed, 'COMPLETED');

  switch (sr.kind) {
    case 'NON_STANDARD_REFERRAL': {
      if (same(p.resolutionCode, RESOLUTION.complexCaseApproved)) {
        // 000 step 4: "If you are a team leader and have identified the case requires Exceptional Case Handling yourself, no approval is needed".
        if (sr.approval !== 'APPROVED' && !selfAuthorising) return reject('CMS_SR_INVALID_TRANSITION', notApproved(RESOLUTION.complexCaseApproved, '000 steps 11 and 18', '000 step 4'));
        if (!same(p.subStatus, SUB_STATUS.complete)) return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: ${RESOLUTION.complexCaseApproved} closes with sub status Complete (000 step 19)`);
        // 000 step 20: "This will mark this case and any others within the case group as a special case."
        const type = NON_STANDARD_REASONS[sr.reason ?? ''] ?? 'TYPE_TWO';
        return applied(closed, [fact({ type: 'CaseGroupMarkedSpecial', referringUserId: sr.createdBy.userId, exceptionalType: type }), completed]);
      }
      return applied(closed, [completed]);
    }
    case 'PI_REFERRAL': {
      if (same(p.resolutionCode, RESOLUTION.piApproved)) {
        // 003: "Team leaders who launch a referral can self authorise a case."
        if (sr.approval !== 'APPROVED' && !selfAuthorising) return reject('CMS_SR_INVALID_TRANSITION', notApproved(RESOLUTION.piApproved, '003 steps 9-10', '003 step 5'));
        if (!same(p.subStatus, SUB_STATUS.complete)) return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: ${RESOLUTION.piApproved} closes with sub status Complete (003 step 13)`);
        return flagParties(sr, closed, completed);
      }
      if (same(p.resolutionCode, RESOLUTION.piNotValid)) {
        if (sr.approval !== 'REJECTED') return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: ${RESOLUTION.piNotValid} is for a referral a team leader rejected (003 step 12)`);
        if (!same(p.subStatus, SUB_STATUS.rejected)) return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: ${RESOLUTION.piNotValid} closes with sub status Rejected (003 step 12)`);
        return applied(closed, [completed]);
      }
      return reject('CMS_SR_INVALID_TRANSITION', `SR ${sr.srId}: a personal-interest referral closes with resolution ${RESOLUTION.piApproved} or ${RESOLUTION.piNotValid}`);
    }
    case 'PI_CESSATION': {
      // 003 step 26: remove the PI marker "for all parties involved in the case where applicable" and return to business as usual.
      const target = sr.raisedAgainstPartyId ?? '';
      const setBy = state.piFlags[target]?.srId;
      const remove = Object.entries(state.piFlags)
        .filter(([partyId, f]) => partyId === target || (setBy !== undefined && f.srId === setBy && f.associated))
        .map(([partyId]) => partyId)
        .sort();
      if (remove.length === 0) return applied(closed, [completed], {}, `party ${target} had no personal-interest flag set by this service`);
      const piFlags = Object.fromEntries(Object.entries(state.piFlags).filter(([partyId]) => !remove.includes(partyId)));
      const facts = remove.map((partyId) => fact({ type: 'PersonalInterestFlagChanged', partyId, flagged: false, reason: null, reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [] }));
      return applied(closed, [...facts, completed], { piFlags });
    }
    case 'NON_STANDARD_LOAD_BACK':
      // 001: "Cases remain exceptional until the underlying reason which caused their failure is rectified."
      return applied(closed, [fact({ type: 'CaseGroupLoadedBack', fix: 'SYSTEM_FIX_RECORDED' }), completed]);
    case 'OTHER':
      return applied(closed, [completed]);
  }

  function flagParties(referral: SrRecord, closedSr: SrRecord, done: SrFact): SrOutcome {
    const rule = PI_REASONS[referral.reason ?? ''];
    const client = referral.raisedAgainstPartyId;
    if (!rule || !client) return reject('CMS_SR_MANDATORY_FIELD', `SR ${referral.srId}: the referral has no valid reason or client`);
    // 003: "the other parties in the case": the parties of the SR's case, not of every case in the case group.
    const caseParties = state.cases[referral.caseId] ?? [];
    const adults = caseParties.filter((x) => x.role !== 'QUALIFYING_CHILD' && x.partyId !== client).map((x) => x.partyId).sort();
    const flags: SrFact[] = [
      fact({
        type: 'PersonalInterestFlagChanged',
        partyId: client,
        flagged: true,
        reason: rule.flag,
        // 003: "For threat of suicide cases the marker is removed when a threat no longer exists or after a three monthly review."
        reviewDueAt: rule.reviewMonths ? addMonths(event.occurredAt, rule.reviewMonths) : null,
        // 003 step 6: CIFBA -> "a Team Leader warm handover must be completed to the SCR Team Leader".
        warmHandoverRequired: rule.warmHandover,
        // 003 step 22: a name that must not be disclosed -> suppress correspondence; block the other parties from the SSP.
        suppressCorrespondence: rule.knownAs,
        blockPortalForPartyIds: rule.knownAs ? adults : [],
      }),
    ];
    const piFlags: Record<string, { srId: string; associated: boolean }> = { ...state.piFlags, [client]: { srId: referral.srId, associated: false } };
    if (rule.associatedContacts) {
      // 003 step 7: "the other parties in the case should also be flagged as personal interest with the reason set to Associated contact".
      // Threat of suicide: "only set against the specific case/client and not against the associated contacts".
      for (const other of [...new Set(caseParties.map((x) => x.partyId))].filter((id) => id !== client).sort()) {
        flags.push(fact({ type: 'PersonalInterestFlagChanged', partyId: other, flagged: true, reason: 'ASSOCIATED_CONTACT', reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [] }));
        piFlags[other] = { srId: referral.srId, associated: true };
      }
    }
    return applied(closedSr, [...flags, done], { piFlags });
  }
}
