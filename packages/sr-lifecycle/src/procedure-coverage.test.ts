import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every numbered step of procedures 000 and 003: the test row that implements it, or why it has no
 * system event to test (a form, a phone call, a manual check) and where that is handled instead.
 */
type Coverage = { readonly test: string } | { readonly manual: string };

const NON_STANDARD_000: Record<number, Coverage> = {
  1: { manual: 'open the Contact Summary screen: no system event' },
  2: { manual: 'consider the ECH criteria: a caseworker judgement' },
  3: { manual: 'no match: no action, so no event' },
  4: { test: 'step 4 and FAQ: a team leader who identifies the case needs no approval' },
  5: { manual: 'make sure no work is outstanding: a caseworker check before referring' },
  6: { manual: 'open the Contact Summary screen: no system event' },
  7: { test: 'steps 7-11: create the referral' },
  8: { test: 'step 8: the reason is mandatory' },
  9: { test: 'step 9: the source of the referral is mandatory' },
  10: { manual: 'free-text notes: not carried by the contract (may hold personal data)' },
  11: { test: 'step 11: refer only once In Progress' },
  12: { test: 'steps 18-20: TL approves' },
  13: { test: 'steps 21-22: TL rejects' },
  14: { manual: 'team leader takes ownership in Work Management: a workforce allocation, not an SR event' },
  15: { manual: 'assign the case to yourself: a workforce allocation, not an SR event' },
  16: { manual: 'judge the referral and discuss with ECH: the decision arrives as ApprovalDecided' },
  17: { test: 'step 4 and FAQ: a team leader who identifies the case needs no approval' },
  18: { test: 'steps 18-20: TL approves' },
  19: { test: 'steps 18-19: Complex Case Approved needs the TL approval first' },
  20: { test: 'steps 18-20: TL approves' },
  21: { test: 'steps 21-22: TL rejects' },
  22: { test: 'steps 21-22: TL rejects' },
  23: { manual: 'tell the caseworker verbally or by email: ReferralRejected is published for any consumer that notifies' },
};

const PERSONAL_INTEREST_003: Record<number, Coverage> = {
  1: { test: 'step 7: information sharing' },
  2: { manual: 'complete form CSF132 locally: outside the case system' },
  3: { manual: 'send CSF132 to the Legacy SCR team: outside the case system' },
  4: { manual: 'email CSF132 to the team leader: outside the case system' },
  5: { test: 'step 5: a team leader raises and self-authorises' },
  6: { test: 'step 6: a CIFBA case needs a team leader warm handover to SCR' },
  7: { test: 'steps 5 and 7: the lock-assignment flag must not be selected' },
  8: { manual: 'record additional information: free text, not carried by the contract' },
  9: { test: 'step 9: Pending Approval needs the sub status "Pending approval - TL"' },
  10: { test: 'steps 9-10, 13: approved and closed Personal Interest Approved' },
  11: { test: 'steps 11-12: rejected' },
  12: { test: 'step 12: Personal Interest Not Valid is only for a rejected referral' },
  13: { test: 'steps 9-10, 13: approved and closed Personal Interest Approved' },
  14: { manual: 'email the CM 2012 SCHEME Special Client Records inbox: the notifier service (issue 5)' },
  15: { manual: 'SCR checks the case contacts: a manual check; the associated contacts are already flagged (step 7 row)' },
  16: { manual: 'SCR checks case notes: manual' },
  17: { manual: 'note exists -> no action: manual' },
  18: { manual: 'SCR checks each contact: manual; flags are visible in explain' },
  19: { manual: 'SCR may set a flag without an SR: not an SR event (a future party-fact)' },
  20: { test: 'step 7: information sharing (name not disclosed) -> Commission defined, and the other parties flagged Associated contact' },
  21: { test: 'step 7: death of a qualifying child -> Commission defined + associated contacts' },
  22: { test: 'step 22: a name that must not be disclosed -> suppress correspondence' },
  23: { test: 'steps 23-26: cessation removes the flag' },
  24: { test: 'steps 23-26: cessation removes the flag' },
  25: { test: 'steps 23-26: cessation removes the flag' },
  26: { test: 'steps 23-26: cessation removes the flag' },
};

const tests = readFileSync(resolve(import.meta.dirname, 'apply.test.ts'), 'utf8');

describe.each([
  ['000 Non Standard Case - Refer', NON_STANDARD_000, 23],
  ['003 Personal Interest - Register', PERSONAL_INTEREST_003, 26],
])('%s: every numbered step is covered', (_name, table, steps) => {
  it('lists every step', () => {
    expect(Object.keys(table).map(Number)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
  });
  it.each(Object.entries(table))('step %s', (_step, coverage) => {
    if ('test' in coverage) expect(tests, `no test row titled "${coverage.test}"`).toContain(coverage.test);
    else expect(coverage.manual.length).toBeGreaterThan(10);
  });
});
