import type { ConsoleUser } from './access.ts';
import type { ApprovalRow, BacklogRow, CaseGroupView, MoveRow, OrphanRow, RejectionGroup, UnallocatedRow } from './queries.ts';

/**
 * Server-rendered pages in the GOV.UK Design System (govuk-frontend's styles and components' markup),
 * so the console looks and behaves like the DWP's own services. Ids, codes, places and counts only:
 * nothing personal is on any page. The live page re-renders its dashboard fragment when the stream
 * says something the user may see has changed (console.js; the page works without it, on reload).
 */
export const esc = (v: string | number | null | undefined): string => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const ROLE_TEXT: Record<ConsoleUser['role'], string> = { SEGMENT_MANAGER: 'Segment manager', TEAM_LEADER: 'Team leader', OPERATIONS: 'Operations' };
const SUBJECT_TEXT: Record<string, string> = { CASE_GROUP: 'Case groups', SERVICE_REQUEST: 'Service requests', APPROVAL_TASK: 'Approval tasks' };

export function whoText(u: ConsoleUser): string {
  return `${u.sub} · ${ROLE_TEXT[u.role]}${u.segment ? ` · ${u.segment}` : ''}${u.team ? ` · team ${u.team}` : ''}`;
}

export function layout(o: { title: string; user: ConsoleUser | null; body: string; live?: boolean }): string {
  return `<!DOCTYPE html>
<html lang="en-GB" class="govuk-template">
<head><meta charset="utf-8"><title>${esc(o.title)} - CMS work allocation console</title>
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<link rel="icon" href="/assets/images/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/govuk/govuk-frontend.min.css">
<link rel="stylesheet" href="/static/console.css"></head>
<body class="govuk-template__body">
<script src="/static/supported.js"></script>
<a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link">Skip to main content</a>
<section aria-label="Service information" class="govuk-service-navigation" data-module="govuk-service-navigation"><div class="govuk-width-container"><div class="govuk-service-navigation__container">
<span class="govuk-service-navigation__service-name"><a href="/" class="govuk-service-navigation__link">CMS work allocation console</a></span>
${o.user ? `<nav aria-label="Menu" class="govuk-service-navigation__wrapper"><ul class="govuk-service-navigation__list">
<li class="govuk-service-navigation__item"><a class="govuk-service-navigation__link" href="/">Dashboard</a></li>
<li class="govuk-service-navigation__item"><a class="govuk-service-navigation__link" href="/api/docs/json">API (OpenAPI)</a></li>
<li class="govuk-service-navigation__item"><a class="govuk-service-navigation__link" href="/auth/logout">Sign out</a></li></ul></nav>
<p class="govuk-body-s govuk-!-margin-0 console-who" data-testid="who">${esc(whoText(o.user))}</p>` : ''}</div></div></section>
<div class="govuk-width-container"><main class="govuk-main-wrapper" id="main-content">
${o.body}
</main></div>
<footer class="govuk-footer"><div class="govuk-width-container"><div class="govuk-footer__meta"><div class="govuk-footer__meta-item govuk-footer__meta-item--grow">
<p class="govuk-body-s">Child Maintenance Service (2012 scheme). Ids only: no personal data is shown here.</p></div></div></div></footer>
<script type="module" src="/govuk/govuk-frontend.min.js"></script>
<script type="module" src="/static/init.js"></script>
${o.live ? '<script src="/static/console.js" defer></script>' : ''}
</body></html>`;
}

const table = (caption: string, head: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = [], testId?: string): string =>
  `<table class="govuk-table"${testId ? ` data-testid="${testId}"` : ''}><caption class="govuk-table__caption govuk-table__caption--m">${esc(caption)}</caption>
<thead class="govuk-table__head"><tr class="govuk-table__row">${head.map((h, i) => `<th scope="col" class="govuk-table__header${numeric.includes(i) ? ' govuk-table__header--numeric' : ''}">${esc(h)}</th>`).join('')}</tr></thead>
<tbody class="govuk-table__body">${rows.map((r) => `<tr class="govuk-table__row">${r.map((c, i) => `<td class="govuk-table__cell${numeric.includes(i) ? ' govuk-table__cell--numeric' : ''}">${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;

/**
 * A segment, region or team id as a person reads it: SPECIAL_CLIENT_RECORDS -> "Special client records",
 * TEAM_LEADER:T-1 -> "Team leader inbox T-1". Team names that are already words are kept.
 */
export function label(id: string | null | undefined): string {
  if (!id) return '-';
  if (id.startsWith('TEAM_LEADER:')) return `Team leader inbox ${id.slice('TEAM_LEADER:'.length)}`;
  if (!/^[A-Z0-9_]+$/.test(id)) return id;
  const words = id.replaceAll('_', ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
const place = (...parts: (string | null | undefined)[]): string => parts.filter(Boolean).map((x) => label(x)).join(' / ');

const none = (text: string): string => `<p class="govuk-body">${esc(text)}</p>`;

export function age(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

const cgLink = (id: string): string => `<a class="govuk-link" href="/case-groups/${encodeURIComponent(id)}">${esc(id)}</a>`;

/** Horizontal bars (inline SVG): where people would rather look than read. */
function bars(title: string, rows: readonly { label: string; value: number }[], id: string): string {
  if (rows.length === 0) return '';
  const max = Math.max(1, ...rows.map((r) => r.value));
  const label = 380;
  const width = 400;
  const h = 26;
  const height = rows.length * h + 10;
  return `<figure class="console-chart"><svg role="img" aria-labelledby="${id}" width="100%" viewBox="0 0 ${label + width + 80} ${height}" font-family="inherit" font-size="15"><title id="${id}">${esc(title)}</title>${rows
    .map((r, i) => {
      const w = Math.max(r.value > 0 ? 2 : 0, Math.round((r.value / max) * width));
      const y = 5 + i * h;
      return `<text x="${label - 8}" y="${y + 16}" text-anchor="end" fill="#0b0c0c">${esc(r.label)}</text><rect x="${label}" y="${y + 3}" width="${w}" height="18" fill="#1d70b8"></rect><text x="${label + w + 6}" y="${y + 16}" fill="#0b0c0c">${r.value}</text>`;
    })
    .join('')}</svg><figcaption class="govuk-body-s">${esc(title)}</figcaption></figure>`;
}

/**
 * Case groups arriving and leaving per hour over the last 24 hours (inline SVG, with its figures in a
 * title per bar and the table below it for those who would rather read).
 */
export function movesChart(moves: readonly MoveRow[], now: Date = new Date()): string {
  if (moves.length === 0) return '';
  const hours = 24;
  const start = Math.floor(now.getTime() / 3_600_000) - (hours - 1);
  const arrived = new Array<number>(hours).fill(0);
  const left = new Array<number>(hours).fill(0);
  for (const m of moves) {
    const i = Math.floor(Date.parse(m.hour) / 3_600_000) - start;
    if (i < 0 || i >= hours) continue;
    arrived[i] = (arrived[i] ?? 0) + m.arrived;
    left[i] = (left[i] ?? 0) + m.left;
  }
  const max = Math.max(1, ...arrived, ...left);
  const w = 28;
  const h = 120;
  const bars = arrived.map((a, i) => {
    const l = left[i] ?? 0;
    const x = 40 + i * w;
    const hour = new Date((start + i) * 3_600_000).toISOString().slice(11, 16);
    const ha = Math.round((a / max) * h);
    const hl = Math.round((l / max) * h);
    return `<rect x="${x}" y="${10 + h - ha}" width="${w / 2 - 2}" height="${ha}" fill="#00703c"><title>${hour} UTC: ${a} arrived</title></rect><rect x="${x + w / 2}" y="${10 + h - hl}" width="${w / 2 - 2}" height="${hl}" fill="#d4351c"><title>${hour} UTC: ${l} left</title></rect>${i % 4 === 0 ? `<text x="${x}" y="${h + 28}" fill="#0b0c0c">${hour}</text>` : ''}`;
  });
  return `<figure class="console-chart"><svg role="img" aria-labelledby="chart-moves" width="100%" viewBox="0 0 ${40 + hours * w + 10} ${h + 40}" font-family="inherit" font-size="13"><title id="chart-moves">Case groups arriving (green) and leaving (red) per hour, last 24 hours; at most ${max} in an hour</title><text x="0" y="18" fill="#0b0c0c">${max}</text><line x1="38" y1="${h + 10}" x2="${40 + hours * w}" y2="${h + 10}" stroke="#b1b4b6"></line>${bars.join('')}</svg><figcaption class="govuk-body-s">Case groups arriving (green) and leaving (red) per hour, UTC</figcaption></figure>`;
}

export interface DashboardData {
  readonly user: ConsoleUser;
  readonly backlog: readonly BacklogRow[];
  readonly moves: readonly MoveRow[];
  readonly approvals: readonly ApprovalRow[];
  readonly orphans: readonly OrphanRow[];
  readonly rejections: readonly RejectionGroup[];
  readonly unallocated: readonly UnallocatedRow[];
  readonly updatedAt: string;
}

/** The dashboard's figures: the fragment the live page swaps in. */
export function dashboardFragment(d: DashboardData): string {
  const total = (subject: string): number => d.backlog.filter((b) => b.subject === subject).reduce((n, b) => n + b.count, 0);
  const flagged = d.orphans.filter((o) => o.state === 'FLAGGED').length;
  const rejected = d.rejections.reduce((n, g) => n + g.count, 0);
  const card = (label: string, value: number, testId: string): string => `<div class="govuk-grid-column-one-quarter"><div class="console-card"><p class="govuk-body-s govuk-!-margin-bottom-1">${esc(label)}</p><p class="govuk-heading-l govuk-!-margin-bottom-0" data-testid="${testId}">${value}</p></div></div>`;
  const byPlace = new Map<string, number>();
  for (const b of d.backlog) if (b.subject === 'CASE_GROUP') {
    const where = place(b.segment, b.region);
    byPlace.set(where, (byPlace.get(where) ?? 0) + b.count);
  }
  const movesBySegment = new Map<string, { arrived: number; left: number }>();
  for (const m of d.moves) {
    const x = movesBySegment.get(m.segment) ?? { arrived: 0, left: 0 };
    x.arrived += m.arrived;
    x.left += m.left;
    movesBySegment.set(m.segment, x);
  }
  return `<p class="govuk-body-s" data-testid="updated">Figures as of ${esc(d.updatedAt.slice(11, 19))} UTC</p>
<div class="govuk-grid-row">${card('Case groups held', total('CASE_GROUP'), 'count-case-groups')}${card('Open service requests', total('SERVICE_REQUEST'), 'count-srs')}${card('Approval tasks', total('APPROVAL_TASK'), 'count-approvals')}${card('Orphaned, not yet recovered', flagged, 'count-orphans')}</div>
<h2 class="govuk-heading-l">Backlog</h2>
${bars('Case groups held, by segment and region', [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([label, value]) => ({ label, value })), 'chart-backlog')}
${d.backlog.length === 0 ? none('No work is held here yet.') : table('Work in progress by segment, region and team', ['Segment', 'Region', 'Team', 'Work item', 'Count', 'Oldest'], d.backlog.map((b) => [esc(label(b.segment)), esc(label(b.region)), esc(label(b.team)), esc(SUBJECT_TEXT[b.subject] ?? b.subject), String(b.count), esc(b.oldestPlacedAt.slice(0, 19).replace('T', ' '))]), [4], 'backlog')}
<h2 class="govuk-heading-l">Approval inbox</h2>
${d.approvals.length === 0 ? none('No approval task is waiting.') : table('Approval tasks waiting for a team leader, oldest first', ['Case group', 'Service request', 'Inbox', 'Team leader', 'Waiting'], d.approvals.map((a) => [cgLink(a.caseGroupId), esc(a.srId ?? '-'), esc(label(a.team)), esc(a.ownerUserId ?? 'not named'), esc(age(a.ageSeconds))]), [], 'approvals')}
<h2 class="govuk-heading-l">Unallocated work by age</h2>
${d.unallocated.length === 0 ? none('No case group is waiting for a caseworker.') : table('Case groups not allocated to a caseworker, by time in their place', ['Segment', 'Under 1 hour', '1 hour to 1 day', '1 to 7 days', 'Over 7 days'], d.unallocated.map((u) => [esc(label(u.segment)), String(u.underHour), String(u.underDay), String(u.underWeek), String(u.older)]), [1, 2, 3, 4], 'unallocated')}
<h2 class="govuk-heading-l">Moves in the last 24 hours</h2>
${movesChart(d.moves)}
${movesBySegment.size === 0 ? none('No case group has moved in or out.') : table('Case groups arriving in and leaving each segment', ['Segment', 'Arrived', 'Left'], [...movesBySegment].map(([s, m]) => [esc(label(s)), String(m.arrived), String(m.left)]), [1, 2], 'moves')}
<h2 class="govuk-heading-l">Orphaned case groups</h2>
${d.orphans.length === 0 ? none('No case group has been orphaned.') : table('Case groups left with a caseworker who moved team or lost access', ['Case group', 'Left with', 'Why', 'State', 'Since'], d.orphans.map((o) => [cgLink(o.caseGroupId), esc(o.userId), esc(o.cause.replaceAll('_', ' ').toLowerCase()), o.state === 'RECOVERED' ? '<strong class="govuk-tag govuk-tag--green">Recovered</strong>' : '<strong class="govuk-tag govuk-tag--red">Flagged</strong>', esc(o.since.slice(0, 10))]), [], 'orphans')}
<h2 class="govuk-heading-l">Rejections needing action</h2>
<p class="govuk-body" data-testid="count-rejections">${rejected} rejection${rejected === 1 ? '' : 's'}${d.rejections.length > 0 ? `, ${d.rejections.length} code${d.rejections.length === 1 ? '' : 's'}` : ''}.</p>
${d.rejections.map((g) => `<details class="govuk-details"><summary class="govuk-details__summary"><span class="govuk-details__summary-text">${esc(g.code)}: ${g.count}</span></summary><div class="govuk-details__text">
<p class="govuk-body">${esc(g.meaning)}</p><p class="govuk-body"><strong>What to do:</strong> ${esc(g.fix)}</p>
<p class="govuk-body">Replay once fixed: <code>${esc(g.replay)}</code></p>
${table(`Latest ${g.code}`, ['Case group', 'Service request', 'Why'], g.latest.map((l) => [l.caseGroupId ? cgLink(l.caseGroupId) : '-', esc(l.srId ?? '-'), esc(l.reason)]))}</div></details>`).join('')}`;
}

export function dashboardPage(d: DashboardData, searchError?: string): string {
  return layout({
    title: 'Dashboard',
    user: d.user,
    live: true,
    body: `<h1 class="govuk-heading-xl">Work allocation</h1>
${searchForm(searchError)}
<div class="govuk-notification-banner" role="region" aria-labelledby="live-title" data-module="govuk-notification-banner"><div class="govuk-notification-banner__header"><h2 class="govuk-notification-banner__title" id="live-title">Live</h2></div>
<div class="govuk-notification-banner__content"><p class="govuk-body" aria-live="polite" id="live-status" data-testid="live-status">These figures update as assignments arrive.</p></div></div>
<div id="dashboard" data-testid="dashboard">${dashboardFragment(d)}</div>`,
  });
}

function searchForm(error?: string): string {
  return `<form method="get" action="/case-groups" role="search" novalidate><div class="govuk-form-group${error ? ' govuk-form-group--error' : ''}">
<h2 class="govuk-label-wrapper"><label class="govuk-label govuk-label--m" for="case-group-id">Find a case group</label></h2>
<div id="case-group-id-hint" class="govuk-hint">Its id, for example CG-1042</div>
${error ? `<p id="case-group-id-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> ${esc(error)}</p>` : ''}
<input class="govuk-input govuk-input--width-20${error ? ' govuk-input--error' : ''}" id="case-group-id" name="id" type="text" spellcheck="false" aria-describedby="case-group-id-hint${error ? ' case-group-id-error' : ''}">
<button type="submit" class="govuk-button govuk-!-margin-left-2" data-module="govuk-button">Search</button></div></form>`;
}

export function caseGroupPage(user: ConsoleUser, v: CaseGroupView): string {
  const work = v.work.map((w) => [esc(w.subject === 'CASE_GROUP' ? 'Case group' : w.subject === 'APPROVAL_TASK' ? `Approval task (SR ${w.srId ?? ''})` : `SR ${w.srId ?? ''}`), esc(place(w.segment, w.region, w.team)), esc(w.ownerUserId ?? w.allocatedTo ?? 'unallocated'), esc(w.rulesVersion), `<ul class="govuk-list govuk-list--bullet">${w.reasons.map((r) => `<li>${esc(r.text)} <span class="govuk-body-s console-procedure">(${esc(r.procedure)})</span></li>`).join('')}</ul>`]);
  return layout({
    title: `Case group ${v.caseGroupId}`,
    user,
    body: `<a href="/" class="govuk-back-link">Back to the dashboard</a>
<h1 class="govuk-heading-xl" data-testid="case-group-title"><span class="govuk-caption-l">Case group</span>${esc(v.caseGroupId)}</h1>
${table('Where its work is now, and why', ['Work item', 'Segment / region / team', 'With', 'Rules', 'Why'], work, [], 'placements')}
${table(`History (${v.history.length} assignments)`, ['When', 'Work item', 'From', 'To', 'Deciding rule (version)', 'Because of'], v.history.map((h) => [esc(h.at.slice(0, 19).replace('T', ' ')), esc(h.subject === 'CASE_GROUP' ? 'Case group' : `${h.subject === 'APPROVAL_TASK' ? 'Approval task' : 'SR'} ${h.srId ?? ''}`), esc(label(h.previousSegment)), esc(place(h.segment, h.region, h.team)), `${esc(h.ruleId ?? '-')} (${esc(h.rulesVersion)})`, esc(h.input ?? '-')]), [], 'history')}
${v.orphans.length === 0 ? '' : table('Orphan flags', ['Left with', 'Why', 'State', 'When'], v.orphans.map((o) => [esc(o.userId), esc(o.cause), esc(o.state), esc(o.at.slice(0, 19).replace('T', ' '))]))}
${v.emails.length === 0 ? '' : table('Emails sent about it', ['Inbox', 'Outcome', 'When'], v.emails.map((e) => [esc(e.inbox), esc(e.outcome), esc(e.at.slice(0, 19).replace('T', ' '))]))}`,
  });
}

export function errorPage(user: ConsoleUser | null, status: number, title: string, text: string): string {
  return layout({ title, user, body: `<h1 class="govuk-heading-xl" data-testid="error-title">${esc(title)}</h1><p class="govuk-body">${esc(text)}</p><p class="govuk-body"><a class="govuk-link" href="/">Go to the dashboard</a></p><p class="govuk-body-s">Status ${status}</p>` });
}
