export { loadRules, srKey, validateRules, type Rules } from './load.ts';
export { diffRules, type RulesChange } from './diff.ts';
export { RULE_IDS, COUNTRIES, rulesFileSchema, type RuleId, type Country, type Place, type RulesFile, type SrCatalogueEntry } from './schema.ts';
export { lookupPostcode, parsePostcode, type ParsedPostcode, type PostcodeLookup } from './postcode.ts';
export { decideCaseGroup, decideServiceRequest, decideApprovalTask, catalogueEntry, PROCEDURES } from './decide.ts';
export { samePlacement, type Decision, type DecisionResult, type Reason, type RoutingError } from './decision.ts';
export type { CaseGroupFacts, CaseFacts, OpenServiceRequest, PartyFacts, PartyRole, PersonalInterestFlag, Residence } from './facts.ts';
export { defaultRules, DEFAULT_RULES_FILE } from './default-rules.ts';
export { allocateWithinSegment, orphanRecoveredReason, type CaseGroupOwner, type OrphanRecovery } from './owner.ts';
