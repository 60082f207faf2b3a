import { z } from 'zod';

export const RULE_IDS = ['special-case', 'sensitive-or-personal-interest', 'escalation', 'non-uk-paying-parent', 'lifecycle-new-case', 'paying-parent-postcode'] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const COUNTRIES = ['ENGLAND', 'WALES', 'SCOTLAND', 'NORTHERN_IRELAND', 'OUTSIDE_UK'] as const;
export type Country = (typeof COUNTRIES)[number];

const place = z.object({ country: z.enum(COUNTRIES), region: z.string().min(1).nullable(), note: z.string().optional() }).strict();
export type Place = z.infer<typeof place>;

const segmentId = z.string().regex(/^[A-Z_]+$/);

/** The rules file's shape. Loading validates it and then checks cross-references (`loadRules`). */
export const rulesFileSchema = z
  .object({
    version: z.string().min(1),
    /** The first day (UTC) this version decides facts of; facts are routed under the version in effect on their business date. */
    effectiveFrom: z.iso.date(),
    /** The last day (UTC, inclusive) this version decides facts of; none: until a later version takes over. */
    effectiveTo: z.iso.date().optional(),
    description: z.string().optional(),
    hierarchy: z.array(z.object({ rule: z.enum(RULE_IDS), why: z.string().min(10) }).strict()).min(1),
    segments: z.record(segmentId, z.object({ name: z.string(), team: z.string().nullable(), restricted: z.boolean() }).strict()),
    incomeSourceTeams: z.record(z.string(), z.string()),
    escalations: z.array(z.object({ segment: segmentId, procedure: z.string() }).strict()),
    serviceRequests: z.array(
      z
        .object({
          process: z.string().min(1),
          aliases: z.array(z.string()).optional(),
          area: z.string().min(1),
          subArea: z.string().min(1),
          kind: z.enum(['FUNCTIONALLY_UNIQUE', 'CASE_OWNING']),
          team: z.string().optional(),
          needsApproval: z.boolean().optional(),
          teamLeaderMaySelfAuthorise: z.boolean().optional(),
          /** The escalation segment whose caseworkers work this SR (002: complaints, appeals, enforcement). */
          escalation: segmentId.optional(),
          /**
           * Whether an open SR of this type moves the whole case group to its escalation segment (002 "route the
           * case to the complaints segment"). Default false: an escalation is worked by specialist caseworkers
           * and so is functionally unique by 004's definition ("The casegroup remains with the caseworker in the
           * case owning segment"). docs/rules.md explains the default.
           */
          movesCaseGroup: z.boolean().optional(),
          procedure: z.string().min(1),
        })
        .strict(),
    ),
    postcodes: z
      .object({
        areas: z.record(z.string().regex(/^[A-Z]{1,2}$/), place),
        districts: z.record(z.string().regex(/^[A-Z]{1,2}\d[A-Z\d]?$/), place),
        sectors: z.record(z.string().regex(/^[A-Z]{1,2}\d[A-Z\d]? \d$/), place),
      })
      .strict(),
  })
  .strict();

export type RulesFile = z.infer<typeof rulesFileSchema>;
export type SrCatalogueEntry = RulesFile['serviceRequests'][number];
