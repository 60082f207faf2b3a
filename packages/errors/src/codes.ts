/**
 * The closed list of error codes. `retryable` is the only thing a consumer looks at to choose between
 * "pause and retry" and "dead-letter / reject": a retryable error means the input is fine and the
 * world (Redis, registry, broker, SMTP) is not; a non-retryable one means retrying the same input can
 * never succeed. docs/errors.md is kept in sync with this table by a test.
 */
export const ERROR_CODES = {
  CMS_CONFIG_INVALID: {
    retryable: false,
    meaning: 'Configuration from the environment is missing or invalid; the service refuses to start.',
    fix: 'Read the listed variables in the message, correct them and start again.',
  },
  CMS_DECODE_FAILED: {
    retryable: false,
    meaning: 'A record could not be decoded (not Confluent wire format, unknown magic byte, or bytes that do not match the schema).',
    fix: 'The record is dead-lettered with its original bytes; fix the producer, then replay the dead letters (npm run cli -- replay --from cms.dead-letter.v1 --code CMS_DECODE_FAILED, with --to the right topic if the producer wrote to the wrong one).',
  },
  CMS_SCHEMA_NOT_FOUND: {
    retryable: false,
    meaning: 'A record names a schema id the registry does not hold.',
    fix: 'Check the producer uses the same registry; the record is dead-lettered.',
  },
  CMS_EVENT_INVALID: {
    retryable: false,
    meaning: 'A decoded event breaks a rule of the contract (for example a JSON scenario line with a missing field).',
    fix: 'Correct the event as the message says; see docs/contract.md.',
  },
  CMS_SCHEMA_INCOMPATIBLE: {
    retryable: false,
    meaning: 'The registry rejected a schema because it breaks the compatibility level of its topic (FULL_TRANSITIVE for upstream and published topics, BACKWARD_TRANSITIVE for internal ones) with an earlier version.',
    fix: 'Make the change compatible (add fields with defaults, append event types at the end of a union; never remove or retype a field) or publish a new topic version (docs/contract.md).',
  },
  CMS_REGISTRY_UNAVAILABLE: {
    retryable: true,
    meaning: 'The schema registry could not be reached or answered with a server error.',
    fix: 'The consumer pauses and retries with backoff; check the registry is running (npm run stack -- status).',
  },
  CMS_REDIS_UNAVAILABLE: {
    retryable: true,
    meaning: 'Redis could not be reached or a command timed out.',
    fix: 'The consumer pauses and retries with backoff; check Redis (npm run stack -- status).',
  },
  CMS_KAFKA_UNAVAILABLE: {
    retryable: true,
    meaning: 'The Kafka cluster could not be reached or a produce/commit failed with a retriable error.',
    fix: 'The consumer retries with backoff; check the brokers and the network.',
  },
  CMS_STATE_REBUILDING: {
    retryable: true,
    meaning: 'State this record depends on is being rebuilt from Kafka (after Redis lost it); the record waits.',
    fix: 'Nothing: the partition resumes when the rebuild finishes. If it lasts, check the rebuilding partitions in the logs.',
  },
  CMS_SMTP_UNAVAILABLE: {
    retryable: true,
    meaning: 'The SMTP server refused the connection or answered with a temporary (4xx) failure.',
    fix: 'The notifier retries with backoff, then publishes a failed-notification event.',
  },
  CMS_SMTP_REJECTED: {
    retryable: false,
    meaning: 'The SMTP server refused the message for good (a 5xx reply, e.g. an unknown recipient), or the retry budget (SMTP_MAX_ATTEMPTS) ran out.',
    fix: 'A FAILED event is on cms.notifications.v1 with this code; check the inbox address in the configuration and tell the receiving team by another route.',
  },
  CMS_NOT_DUE: {
    retryable: true,
    meaning: 'A queued notifier work item (an email retry after backoff) is not due yet; its work partition waits until it is.',
    fix: 'Nothing: it is tried at its time. Input partitions are never held by it.',
  },
  CMS_CONSUMER_CRASHED: {
    retryable: false,
    meaning: 'The Kafka consumer crashed and will not restart by itself.',
    fix: 'The service exits non-zero so its supervisor restarts it; read the log line before the exit.',
  },
  CMS_SHUTDOWN_TIMEOUT: {
    retryable: false,
    meaning: 'An ordered shutdown did not finish in time; the process exits anyway.',
    fix: 'Nothing is lost: uncommitted input is consumed again on restart. Investigate a stuck handler if it repeats.',
  },
  CMS_RECORD_TOO_LARGE: {
    retryable: false,
    meaning: 'A record the broker accepted could not be carried on: an output it causes is over its topic\'s max.message.bytes, or the broker refused it for good. The record is dead-lettered as a reference (its coordinates and its first 64 KiB) and the partition flows on.',
    fix: 'Find the original by the dead-letter headers (source topic, partition, offset); shrink it upstream or raise the internal topics\' max.message.bytes (packages/events/src/topics.ts), then replay it.',
  },
  CMS_INTERNAL: {
    retryable: false,
    meaning: 'An unexpected error (a bug) while handling one record.',
    fix: 'The record is dead-lettered so the partition keeps flowing; report it with the dead-letter headers.',
  },
  CMS_RULES_INVALID: {
    retryable: false,
    meaning: 'The routing rules file fails its schema or refers to something it does not define; the router refuses to start with it.',
    fix: 'Correct the rules file at the places listed (docs/rules.md describes every section).',
  },
  CMS_UNKNOWN_CASE_GROUP: {
    retryable: false,
    meaning: 'A fact names a case group the router has never seen an application for.',
    fix: 'Publish the ApplicationReceived for the case group first, then replay the rejected fact.',
  },
  CMS_WAIT_EXPIRED: {
    retryable: false,
    meaning: 'A fact waited for what it refers to (its case group\'s application, one of its cases, or an SR\'s creation) longer than the configured expiry (ROUTER_WAIT_EXPIRY_MS, SR_EVENTS_WAIT_EXPIRY_MS; 7 days by default), so it is rejected. A fact that arrives early is never rejected for being early.',
    fix: 'Publish what it refers to (the ApplicationReceived, or the SrCreated), then replay the rejected fact (npm run cli -- replay --from cms.rejections.v1 --code CMS_WAIT_EXPIRED).',
  },
  CMS_UNKNOWN_PARTY: {
    retryable: false,
    meaning: 'A party fact names a person who is in no case group the router knows.',
    fix: 'Check the party id; if the application is still on its way, replay the rejected fact after it.',
  },
  CMS_UNKNOWN_SR_TYPE: {
    retryable: false,
    meaning: 'A service request has a Process / Area / Sub Area that is not in the rules file\'s SR catalogue.',
    fix: 'Add the SR type to the catalogue (with its kind and team) or correct the upstream value.',
  },
  CMS_POSTCODE_MALFORMED: {
    retryable: false,
    meaning: 'A postcode needed for routing is not a well-formed UK postcode.',
    fix: 'Correct the party\'s address upstream; the case group keeps its previous assignment meanwhile.',
  },
  CMS_POSTCODE_UNKNOWN: {
    retryable: false,
    meaning: 'A postcode needed for routing is well formed but its area is not in the postcode table.',
    fix: 'Check the postcode; if the area is real, add it to the rules file\'s postcode table.',
  },
  CMS_ADDRESS_UNKNOWN: {
    retryable: false,
    meaning: 'The party whose address decides the routing has neither a UK postcode nor a non-UK country.',
    fix: 'Record the party\'s address upstream.',
  },
  CMS_SR_PARTY_MISSING: {
    retryable: false,
    meaning: 'A functionally unique SR does not say which party it is raised against, or names a party outside the case group.',
    fix: 'Raise the SR against a party of the case group.',
  },
  CMS_APPROVAL_TEAM_UNKNOWN: {
    retryable: false,
    meaning: 'An SR needs approval but the referring caseworker\'s team is not known, so no team leader can be found.',
    fix: 'Send the team with the SR owner (SrCreated actor.teamId).',
  },
  CMS_UNKNOWN_SR: {
    retryable: false,
    meaning: 'An SR event arrived for an SR that was never created (SrCreated not received). It is rejected, not held: SR events share their case group\'s key, so upstream order is kept and a gap means a lost or misrouted event.',
    fix: 'Publish the SrCreated, then replay the rejected event (its coordinates are in the rejection).',
  },
  CMS_SR_INVALID_TRANSITION: {
    retryable: false,
    meaning: 'An SR status change that the procedures do not allow from the SR\'s current state (for example closing with open activities). The SR is unchanged.',
    fix: 'Do what the reason says (complete the activities, get the approval first), then send the change again.',
  },
  CMS_SR_MANDATORY_FIELD: {
    retryable: false,
    meaning: 'An SR was created without a field its procedure makes mandatory (reason, source of referral, the party referred), or with the lock-assignment flag on a personal-interest referral.',
    fix: 'Create the SR again with the field the reason names.',
  },
  CMS_SR_NOT_AUTHORISED: {
    retryable: false,
    meaning: 'Someone other than a team leader tried to decide an approval.',
    fix: 'The referral must be decided by a team leader from the approval inbox.',
  },
  CMS_STACK_JAVA_MISSING: {
    retryable: false,
    meaning: 'The local stack needs Java (17+ for Kafka, 21+ for Apicurio Registry) and none was found.',
    fix: 'Install a JDK (apt-get install openjdk-17-jre-headless) or set JAVA_HOME / APICURIO_JAVA_HOME.',
  },
  CMS_STACK_DOWNLOAD_FAILED: {
    retryable: true,
    meaning: 'Maven could not fetch the Kafka or Apicurio artefacts (Maven Central unreachable?).',
    fix: 'Check network access to Maven Central and ~/.m2/settings.xml, then run the command again; downloads are cached.',
  },
  CMS_STACK_PORT_IN_USE: {
    retryable: false,
    meaning: 'A port the local stack wants is already taken by another process.',
    fix: 'Stop that process or choose another port with the CMS_STACK_*_PORT variables.',
  },
  CMS_STACK_NOT_READY: {
    retryable: false,
    meaning: 'A stack service started but did not become ready in time.',
    fix: 'Read the log file named in the message.',
  },
  CMS_STACK_TOOL_MISSING: {
    retryable: false,
    meaning: 'A tool the local stack needs (mvn, redis-server) is not installed.',
    fix: 'Run .ci/run once, or install the named Debian package.',
  },
  CMS_DATABASE_UNAVAILABLE: {
    retryable: true,
    meaning: 'The console\'s PostgreSQL database could not be reached or a transaction failed with a retriable error; nothing of the batch is written.',
    fix: 'The console pauses and retries the same records with backoff; check the database (npm run stack -- status).',
  },
  CMS_SIGN_IN_REQUIRED: {
    retryable: false,
    meaning: 'A console page or API route was asked for without a valid sign-in (no session, an expired one, or a token the issuer did not sign).',
    fix: 'Sign in again (the console redirects a browser to the identity provider); an API client sends a current token from the issuer.',
  },
  CMS_ACCESS_DENIED: {
    retryable: false,
    meaning: 'The signed-in user may not see what was asked for: another segment\'s case group or figures, another team\'s approval inbox, or Special Client Records / Exceptional Case Handling details outside those segments.',
    fix: 'Ask someone with access to that segment or team; access comes from the role, segment and team claims of the sign-in.',
  },
} as const satisfies Record<string, { retryable: boolean; meaning: string; fix: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
