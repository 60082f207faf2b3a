/** Logger field names, in one place, so dashboards and log queries agree. */
export const LOG_FIELDS = {
  service: 'service',
  code: 'code',
  retryable: 'retryable',
  topic: 'topic',
  partition: 'partition',
  offset: 'offset',
  eventId: 'eventId',
  correlationId: 'correlationId',
  caseGroupId: 'caseGroupId',
  srId: 'srId',
  attempt: 'attempt',
  delayMs: 'delayMs',
  count: 'count',
  durationMs: 'durationMs',
  /** Outputs of a transaction, and the state writes to its changelog. */
  outputs: 'outputs',
  stateWrites: 'stateWrites',
  /** A transaction's time by phase, in ms. */
  timings: 'timings',
  transactionalId: 'transactionalId',
  pid: 'pid',
  hostname: 'hostname',
  version: 'version',
  /** Why a service shuts down (a signal, a crash): not `reason`, which is redacted as personal data. */
  trigger: 'trigger',
} as const;

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log object: personal data must never
 * reach logs (names, NINOs, addresses, known-as names, personal-interest reasons, email addresses).
 */
export const REDACT_PATHS: readonly string[] = [
  'name',
  'firstName',
  'lastName',
  'surname',
  'knownAs',
  'nino',
  'crn',
  'address',
  'ukPostcode',
  'postcode',
  'email',
  'reason',
  'piReason',
  'password',
  '*.name',
  '*.firstName',
  '*.lastName',
  '*.surname',
  '*.knownAs',
  '*.nino',
  '*.crn',
  '*.address',
  '*.ukPostcode',
  '*.postcode',
  '*.email',
  '*.reason',
  '*.piReason',
  '*.password',
  'value',
  '*.value',
];
