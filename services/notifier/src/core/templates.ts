/**
 * Email templates with minimal personal data: case group id, case id, SR number, segment and what to
 * do. Never names, NINOs, addresses or the personal-interest reason (no "threat of suicide" anywhere).
 */
export type TemplateId = 'SCR_ASSIGNED' | 'ECH_GATEWAY' | 'SCR_WARM_HANDOVER' | 'PI_REVIEW_DUE' | 'ORPHANED_CASE_GROUPS';

export const TEMPLATE_IDS: readonly TemplateId[] = ['SCR_ASSIGNED', 'ECH_GATEWAY', 'SCR_WARM_HANDOVER', 'PI_REVIEW_DUE', 'ORPHANED_CASE_GROUPS'];

export interface TemplateData {
  readonly caseGroupId: string;
  readonly caseId?: string | null;
  readonly srId?: string | null;
  readonly segment?: string | null;
  readonly userId?: string | null;
  readonly dueAt?: string | null;
  /** Every case group concerned, when one email covers several. */
  readonly caseGroupIds?: readonly string[];
}

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** One line, printable, bounded: CR/LF and control characters would let a field forge headers. */
export function headerSafe(value: string, max = 120): string {
   
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

export function htmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const BODIES: Record<TemplateId, { subject: (d: TemplateData) => string; lines: (d: TemplateData) => string[] }> = {
  SCR_ASSIGNED: {
    subject: (d) => `Case group ${d.caseGroupId} transferred to Special Client Records`,
    lines: (d) => [
      `Case group ${d.caseGroupId}${d.caseId ? ` (case ${d.caseId})` : ''} has been transferred to the 2012 SCR Team${d.srId ? ` after SR ${d.srId}` : ''}.`,
      'Action: pick the case group up from the Special Client Records work queue and check every contact on the case is flagged.',
      'Reason details are on the case record; they are not included in this email.',
    ],
  },
  ECH_GATEWAY: {
    subject: (d) => `Exceptional case: case group ${d.caseGroupId} for the ECH gateway`,
    lines: (d) => [
      `Case group ${d.caseGroupId}${d.caseId ? ` (case ${d.caseId})` : ''} is now held in the non standard segment for Exceptional Case Handling${d.srId ? ` (SR ${d.srId})` : ''}.`,
      'Action: complete the ECH Gateway Template for the case group (Arrears Only ECH Template for arrears-only cases).',
    ],
  },
  SCR_WARM_HANDOVER: {
    subject: (d) => `Warm handover needed: case group ${d.caseGroupId}`,
    lines: (d) => [
      `Case group ${d.caseGroupId}${d.caseId ? ` (case ${d.caseId})` : ''} has been agreed for transfer to the SCR team${d.srId ? ` (SR ${d.srId})` : ''}.`,
      'Action: the referring team leader must complete a warm handover to the SCR team leader by telephone.',
    ],
  },
  PI_REVIEW_DUE: {
    subject: (d) => `Personal interest review due: case group ${d.caseGroupId}`,
    lines: (d) => [
      `A personal interest flag on case group ${d.caseGroupId} is due for its review${d.dueAt ? ` (due ${d.dueAt.slice(0, 10)})` : ''}.`,
      'Action: review whether the flag is still needed; remove it if not.',
    ],
  },
  ORPHANED_CASE_GROUPS: {
    subject: (d) => {
      const all = d.caseGroupIds?.length ? d.caseGroupIds : [d.caseGroupId];
      return all.length === 1 ? `Orphaned case group ${all[0] ?? d.caseGroupId}` : `${all.length} orphaned case groups (${all[0] ?? d.caseGroupId}, ...)`;
    },
    lines: (d) => {
      const all = d.caseGroupIds?.length ? d.caseGroupIds : [d.caseGroupId];
      return [
        `${all.length === 1 ? 'This case group was' : `These ${all.length} case groups were`} left allocated to ${d.userId ? `user ${d.userId}` : 'users'} who moved team or lost CMS 2012 access, so no caseworker, team leader or segment manager could see ${all.length === 1 ? 'it' : 'them'}:`,
        all.join(', '),
        `Action: the router has returned ${all.length === 1 ? 'it' : 'them'} to the unallocated work of ${all.length === 1 ? 'its segment' : 'their segments'}; allocate ${all.length === 1 ? 'it' : 'them'} to a caseworker (npm run cli -- explain <case group> shows where and why).`,
      ];
    },
  },
};

export function render(template: TemplateId, data: TemplateData): RenderedEmail {
  const body = BODIES[template];
  const lines = body.lines(data);
  return {
    subject: headerSafe(`[CMS] ${body.subject(data)}`),
    text: `${lines.join('\n\n')}\n\n-- cms-router (automatic message; do not reply)\n`,
    html: `<!doctype html><html><body>${lines.map((l) => `<p>${htmlEscape(l)}</p>`).join('')}<p><small>cms-router (automatic message; do not reply)</small></p></body></html>`,
  };
}
