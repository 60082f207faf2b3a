import pg from 'pg';
import { CmsError } from '@cms-router/errors';
import type { TopicName } from '@cms-router/events';
import type { SinkRecord, SinkStore } from '@cms-router/platform';
import { rowsOf, type HistoryTable, type PlacementRow } from './project.ts';

/** Every table of the console, in one place (the schema name comes from CONSOLE_DB_SCHEMA). */
export const TABLES = {
  offsets: 'sink_offsets',
  skipped: 'sink_skipped',
  placements: 'placements',
  assignments: 'assignments',
  notifications: 'notifications',
  orphanFlags: 'orphan_flags',
  rejections: 'rejections',
  srFacts: 'sr_facts',
} as const;

/** History rows carry their topic coordinates: one row per record, and a replayed record is one row still. */
const COORDS = 'topic_partition int NOT NULL, topic_offset bigint NOT NULL, event_id text NOT NULL, recorded_at timestamptz NOT NULL, PRIMARY KEY (topic_partition, topic_offset)';

/** Idempotent: creates what is missing. A column added later is added here with IF NOT EXISTS. */
export function ddl(schema: string): string {
  const t = (name: string): string => `${schema}.${name}`;
  return `
CREATE SCHEMA IF NOT EXISTS ${schema};
CREATE TABLE IF NOT EXISTS ${t(TABLES.offsets)} (topic text NOT NULL, topic_partition int NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (topic, topic_partition));
CREATE TABLE IF NOT EXISTS ${t(TABLES.skipped)} (topic text NOT NULL, code text NOT NULL, ${COORDS.replace('PRIMARY KEY (topic_partition, topic_offset)', 'PRIMARY KEY (topic, topic_partition, topic_offset)')});
CREATE TABLE IF NOT EXISTS ${t(TABLES.placements)} (work_key text PRIMARY KEY, case_group_id text NOT NULL, subject text NOT NULL, sr_id text, segment text NOT NULL, region text, team text, owner_user_id text, allocated_to text, access text NOT NULL, rules_version text NOT NULL, reasons jsonb NOT NULL, assignment_id text NOT NULL, occurred_at timestamptz NOT NULL, placed_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS placements_case_group ON ${t(TABLES.placements)} (case_group_id);
CREATE INDEX IF NOT EXISTS placements_place ON ${t(TABLES.placements)} (segment, region, team);
CREATE TABLE IF NOT EXISTS ${t(TABLES.assignments)} (assignment_id text NOT NULL, case_group_id text NOT NULL, subject text NOT NULL, sr_id text, previous_segment text, segment text NOT NULL, region text, team text, owner_user_id text, rules_version text NOT NULL, reasons jsonb NOT NULL, basis_input text, basis_event_id text, orphan_cause text, occurred_at timestamptz NOT NULL, ${COORDS});
CREATE INDEX IF NOT EXISTS assignments_case_group ON ${t(TABLES.assignments)} (case_group_id, recorded_at);
CREATE INDEX IF NOT EXISTS assignments_time ON ${t(TABLES.assignments)} (recorded_at);
CREATE TABLE IF NOT EXISTS ${t(TABLES.notifications)} (idempotency_key text NOT NULL, case_group_id text NOT NULL, inbox text NOT NULL, template text NOT NULL, outcome text NOT NULL, attempts int NOT NULL, error_code text, occurred_at timestamptz NOT NULL, ${COORDS});
CREATE TABLE IF NOT EXISTS ${t(TABLES.orphanFlags)} (case_group_id text NOT NULL, user_id text NOT NULL, cause text NOT NULL, state text NOT NULL, segment text, since timestamptz NOT NULL, occurred_at timestamptz NOT NULL, ${COORDS});
CREATE INDEX IF NOT EXISTS orphan_flags_case_group ON ${t(TABLES.orphanFlags)} (case_group_id, recorded_at);
CREATE TABLE IF NOT EXISTS ${t(TABLES.rejections)} (rejection_id text NOT NULL, service text NOT NULL, code text NOT NULL, reason text NOT NULL, case_group_id text, sr_id text, source_topic text NOT NULL, source_partition int NOT NULL, source_offset bigint NOT NULL, occurred_at timestamptz NOT NULL, ${COORDS});
CREATE TABLE IF NOT EXISTS ${t(TABLES.srFacts)} (case_group_id text NOT NULL, sr_id text NOT NULL, fact text NOT NULL, change text, occurred_at timestamptz NOT NULL, ${COORDS});
CREATE INDEX IF NOT EXISTS sr_facts_case_group ON ${t(TABLES.srFacts)} (case_group_id);
`;
}

/** Connection failures and server shutdowns are waited out; anything else is a bug in what we wrote. */
export function toDbError(err: unknown): CmsError {
  if (err instanceof CmsError) return err;
  const code = (err as { code?: unknown }).code;
  const transient = typeof code !== 'string' || /^(08|53|57P|40001|40P01)/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code);
  return new CmsError(transient ? 'CMS_DATABASE_UNAVAILABLE' : 'CMS_INTERNAL', `database: ${(err as Error).message ?? String(err)}`, { cause: err });
}

export interface ConsoleDb {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly store: SinkStore;
  /** A query with the schema's tables named `$schema.` in the text. */
  query<R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

const PLACEMENT_COLUMNS: readonly (keyof PlacementRow)[] = ['work_key', 'case_group_id', 'subject', 'sr_id', 'segment', 'region', 'team', 'owner_user_id', 'allocated_to', 'access', 'rules_version', 'reasons', 'assignment_id', 'occurred_at', 'placed_at'];

export async function openConsoleDb(url: string, schema: string): Promise<ConsoleDb> {
  const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 5_000 });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const t = (name: string): string => `${schema}.${name}`;
  const run = async <R extends pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<R[]> => {
    try {
      return (await pool.query<R>(text.replaceAll('$schema.', `${schema}.`), values as unknown[])).rows;
    } catch (err) {
      throw toDbError(err);
    }
  };
  // Two consoles starting together both run the DDL; a lock makes the second wait for the first.
  const client = await pool.connect().catch((err: unknown) => { throw toDbError(err); });
  try {
    await client.query('SELECT pg_advisory_lock(727274)');
    await client.query(ddl(schema));
  } finally {
    await client.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    client.release();
  }

  const store: SinkStore = {
    async apply(topic: TopicName, partition: number, records: readonly SinkRecord[], nextOffset: string) {
      let c: pg.PoolClient | undefined;
      try {
        c = await pool.connect();
        await c.query('BEGIN');
        await c.query(`INSERT INTO ${t(TABLES.offsets)} (topic, topic_partition, next_offset) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`, [topic, partition]);
        const stored = (await c.query<{ next_offset: string }>(`SELECT next_offset FROM ${t(TABLES.offsets)} WHERE topic = $1 AND topic_partition = $2 FOR UPDATE`, [topic, partition])).rows[0];
        const from = BigInt(stored?.next_offset ?? '0');
        let written = 0;
        let failures = 0;
        for (const r of records) {
          if (BigInt(r.offset) < from) continue;
          if (r.failure) failures += 1;
          for (const op of rowsOf(r)) {
            if (op.kind === 'placement') {
              if (op.row === null) await c.query(`DELETE FROM ${t(TABLES.placements)} WHERE work_key = $1`, [op.workKey]);
              else {
                const row = op.row;
                await c.query(
                  `INSERT INTO ${t(TABLES.placements)} (${PLACEMENT_COLUMNS.join(', ')}) VALUES (${PLACEMENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
                   ON CONFLICT (work_key) DO UPDATE SET ${PLACEMENT_COLUMNS.slice(1).map((col) => `${col} = EXCLUDED.${col}`).join(', ')}`,
                  PLACEMENT_COLUMNS.map((col) => row[col]),
                );
              }
            } else await insert(c, t(op.table), op.table, op.row);
          }
          written += 1;
        }
        if (BigInt(nextOffset) > from) await c.query(`UPDATE ${t(TABLES.offsets)} SET next_offset = $3, updated_at = now() WHERE topic = $1 AND topic_partition = $2`, [topic, partition, nextOffset]);
        await c.query('COMMIT');
        return { written, failures };
      } catch (err) {
        await c?.query('ROLLBACK').catch(() => undefined);
        throw toDbError(err);
      } finally {
        c?.release();
      }
    },
    async positions(topic: TopicName) {
      const rows = await run<{ topic_partition: number; next_offset: string }>(`SELECT topic_partition, next_offset FROM ${t(TABLES.offsets)} WHERE topic = $1`, [topic]);
      return new Map(rows.map((r) => [r.topic_partition, r.next_offset]));
    },
  };
  return { pool, schema, store, query: run, close: () => pool.end() };
}

async function insert(c: pg.PoolClient, table: string, _name: HistoryTable, row: Readonly<Record<string, unknown>>): Promise<void> {
  const cols = Object.keys(row);
  // No ON CONFLICT: the offset check is what keeps a record from being written twice, and if it ever
  // failed, the key (the record's coordinates) makes that loud (CMS_INTERNAL) instead of hiding it.
  await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((k) => row[k]));
}
