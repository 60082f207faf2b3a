/** JSON schemas of the console's API: fastify validates with them and @fastify/swagger makes OpenAPI of them. */
const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required, additionalProperties: false }) as const;
const segment = { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'A segment id of the rules file, e.g. MAINTENANCE' } as const;

export const list = (items: unknown) => ({ type: 'array', items }) as const;
export const error = obj({ code: str, message: str });
export const user = obj({ sub: str, role: { type: 'string', enum: ['SEGMENT_MANAGER', 'TEAM_LEADER', 'OPERATIONS'] }, segment: nstr, team: nstr });
export const returnTo = obj({ returnTo: { type: 'string', maxLength: 500 } }, []);
export const search = obj({ id: { type: 'string', maxLength: 200 } }, []);
export const idParam = obj({ id: { type: 'string', minLength: 1, maxLength: 100 } });
export const placeFilter = obj({ segment, region: { type: 'string', maxLength: 64 }, team: { type: 'string', maxLength: 100 } }, []);
export const movesQuery = obj({ hours: { type: 'integer', minimum: 1, maximum: 24 * 90, default: 24 }, segment }, []);
export const streamQuery = obj({ segment }, []);
export const backlogRow = obj({ segment: str, region: nstr, team: nstr, subject: str, count: int, oldestPlacedAt: str });
export const moveRow = obj({ hour: str, segment: str, arrived: int, left: int });
export const approvalRow = obj({ caseGroupId: str, srId: nstr, team: nstr, ownerUserId: nstr, placedAt: str, ageSeconds: int });
export const orphanRow = obj({ caseGroupId: str, userId: str, cause: str, state: str, segment: nstr, since: str, at: str });
export const rejectionGroup = obj({ code: str, count: int, services: list(str), meaning: str, fix: str, replay: str, latest: list(obj({ caseGroupId: nstr, srId: nstr, reason: str, at: str })) });
export const unallocatedRow = obj({ segment: str, underHour: int, underDay: int, underWeek: int, older: int, oldestPlacedAt: str });
const reason = obj({ ruleId: str, text: str, procedure: str });
export const caseGroup = obj({
  caseGroupId: str,
  work: list(obj({ subject: str, srId: nstr, segment: str, region: nstr, team: nstr, ownerUserId: nstr, allocatedTo: nstr, access: str, rulesVersion: str, reasons: list(reason), placedAt: str })),
  history: list(obj({ at: str, subject: str, srId: nstr, previousSegment: nstr, segment: str, region: nstr, team: nstr, rulesVersion: str, ruleId: nstr, reason: nstr, input: nstr })),
  orphans: list(orphanRow),
  emails: list(obj({ inbox: str, outcome: str, at: str })),
});
