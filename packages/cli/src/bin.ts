#!/usr/bin/env node
// cms-router CLI: `npm run cli -- <command>`. Commands: simulate, what-if, rules, reroute, replay, rebuild, explain, traffic.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CmsError, isCmsError, messageOf } from '@cms-router/errors';
import { qualify, TOPICS, type Assignment, type TopicName } from '@cms-router/events';
import { commonEnvSchema, createKafka, createLogger, createRedis, createSchemaRegistry, createSerde, parseEnv, readKeyHistory, toPlatformConfig } from '@cms-router/platform';
import { createRulesBook, defaultRules, diffRules, loadRules, validateRules, type Rules } from '@cms-router/rules';
import { limitHeapGrowth } from './heap.ts';
import { progressBar } from './progress.ts';
import { releaseRules, releasedVersions, rulesListing, withdrawRules } from './rules-topic.ts';
import { currentPlacements, selectCaseGroups, sendReroute, untilApplied } from './reroute.ts';
import { replay } from './replay.ts';
import { rebuild, REBUILDABLE } from './rebuild.ts';
import { createWhatIf, whatIfCsv, whatIfHtml, whatIfText } from './what-if.ts';
import { whatIfFromInbox, whatIfFromScenario } from './what-if-sources.ts';
import { assignmentHistoryText, explainText } from './explain.ts';
import { readCaseGroup } from './stored-state.ts';
import { isYamlScenario, jsonLinesOf, simulate, simulateJsonLinesFile, TABLE_HEADER, tableRows, toJsonLines, toTable } from './simulate.ts';
import { playTraffic } from './traffic.ts';

const USAGE = `usage: npm run cli -- <command>
  simulate <scenario.jsonl> [--pretty] [--rules <rules.json>] [--heap-growth <percent>]
      run a scenario through the router's own core in-process (no Kafka); prints assignments and
      rejections as JSON lines, or a table with --pretty. Format: docs/simulate.md. --heap-growth: how
      far the heap may grow past the live state between collections (default 50; 0: V8's own)
  what-if --rules <candidate.json> [--scenario <file>] [--active <rules.json>] [--csv F] [--html F] [--json]
      replay history through the routing core under the active rules and the candidate, writing
      nothing, and report what would move and why (npm run cli -- what-if --help)
  rules validate <rules.json>... | diff <a.json> <b.json> | release <rules.json> | list | withdraw <v>
      check rules files (every problem, with where it is), say what changed between two, release a
      version that takes effect by date with no restart (npm run cli -- rules --help)
  replay --from <topic> [--partition N] [--offset A[-B] | --since T [--until T]] [--code C] [--to T | --to-file F]
      republish a range of the dead-letter topic, the rejections or an input topic, with the original
      event ids (npm run cli -- replay --help)
  rebuild <router|sr-events> --yes [--since T]
      rewind a stopped service and empty its state so they agree (npm run cli -- rebuild --help)
  reroute --run <id> [--segment S] [--region R] [--team T] [--postcode-area A] [--wait]
      re-decide every case group (or a filtered set) under the rules in force, exactly once; only
      what moves is published, each assignment naming the run (npm run cli -- reroute --help)
  explain <caseGroupId> [--json] [--history all]
      where the case group is, why, and its history, from a running router's state
      (REDIS_URL, REDIS_KEY_PREFIX); --history all adds every assignment it ever had, from
      cms.assignments.v1 (kept forever; KAFKA_BROKERS, SCHEMA_REGISTRY_URL, KAFKA_TOPIC_NAMESPACE)
  traffic [--case-groups 500] [--changes 8] [--rate 200] [--seed 1]
      play synthetic traffic into the upstream topics and print a live per-segment summary
      (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, KAFKA_TOPIC_NAMESPACE)`;

const WHAT_IF_HELP = `usage: npm run cli -- what-if --rules <candidate.json> [options]

Replays history through the router's pure core twice, under the active rules and under the candidate,
in process, writing nothing to Kafka or Redis, and reports every work item (case group, SR, approval
task) that would sit somewhere else: moves by segment / region / team, each item with both deciding
reasons, and rejections that only the candidate makes. docs/operations.md has a worked example.

history (one of):
  (default)              the router's kept inbox, cms.router-inbox.v1, every partition to its end, one
                         partition after another (memory: one partition's state at a time)
                         (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, KAFKA_TOPIC_NAMESPACE, KAFKA_SSL/SASL_*)
  --scenario <file>      a scenario file (JSON lines or YAML, docs/simulate.md) through sr-events too;
                         JSON lines run the stages before routing once, spool each side's inbox to
                         files in TMPDIR (removed after) and route it a partition at a time (memory:
                         sr-events' and the person registry's state, and a partition's)

options:
  --rules <file>         the candidate rules file (required)
  --active <file>        the rules now in force (default: what the router holds: ROUTER_RULES_FILE or the
                         built-in rules, with every version released to cms.rules.v1, each fact decided
                         by the version in effect on its date; a scenario uses the file alone)
  --csv <file>           write every move as CSV (one row per work item, both reasons)
  --html <file>          write a self-contained HTML report with a chart of moves by segment
  --json                 print the whole report as JSON instead of the text summary
  --limit <n>            work items listed in the text summary (default 50)
  --exit-code            exit 4 when anything would move (for a release pipeline)
  --heap-growth <pct>    how far the heap may grow past the live state between full collections
                         (default 50, which keeps a million-event scenario under 1 GB; 0: V8's own sizing)

exit codes:
  0  done (nothing moves, or moves without --exit-code)
  1  failed: a rules file or the scenario is invalid (every problem is listed), or Kafka is unreachable
  2  usage error
  4  with --exit-code: at least one work item would move`;

const RULES_HELP = `usage: npm run cli -- rules validate <rules.json>... [--json]
       npm run cli -- rules diff <a.json> <b.json> [--json] [--exit-code]
       npm run cli -- rules release <rules.json>
       npm run cli -- rules list [--json]
       npm run cli -- rules withdraw <version>

validate  checks each file's shape and cross-references and lists every problem with where it is
          (hierarchy, segments, escalations[i], serviceRequests[i], postcodes.districts.X, ...)
diff      says what changed from a to b in words: version and date, the hierarchy's order, segments,
          income-source teams, escalations, SR types, postcode areas, districts and sectors.
          What the change would move: npm run cli -- what-if --rules b.json --active a.json
release   validates the file and publishes it to cms.rules.v1, which every router follows: it decides
          facts dated on and after its effectiveFrom (to its effectiveTo, if any), with no restart.
          Running it twice is safe; a version id already released with other content is refused.
list      the versions the router holds (ROUTER_RULES_FILE or the shipped file, and the released ones),
          with their dates and the one in effect today
withdraw  a tombstone for a released version: routers stop using it for the facts they read next
(release, list and withdraw: KAFKA_BROKERS, KAFKA_TOPIC_NAMESPACE, KAFKA_SSL/SASL_*)

exit codes:
  0  every file is valid (validate); the diff is printed (diff); released or already released (release)
  1  a file is invalid or unreadable (each problem is printed); a version id reused for other content or
     not released (withdraw); Kafka unreachable
  2  usage error
  4  diff with --exit-code: the files differ`;

const REROUTE_HELP = `usage: npm run cli -- reroute --run <id> [filters] [--wait] [--dry-run] [--json]

Re-decides every case group, or those the filters select, under the rules the router holds for today
(after a rules release, a team merged, a region redrawn, a segment closed), with its open SRs and
approval tasks. One record per case group goes to the router's inbox, behind the facts already there;
the route stage applies each in its own transaction, so the run is exactly once with no cap. Only what
moves is published, and each new assignment's reasons name the run. Resume a run that stopped (this
command or the router killed) by running it again with the same --run: what was re-decided publishes
nothing more. Check first what it would move: npm run cli -- what-if --rules <the released file>.

options:
  --run <id>             names the run in every assignment it causes (letters, digits, . _ : -)
  --segment <S>          only case groups placed in this segment now
  --region <R>           only case groups placed in this region now
  --team <T>             only case groups placed with this team now
  --postcode-area <A>    only case groups whose paying parent lives in this postcode area (the router checks)
  --wait                 wait until the route stage has applied the whole run, with progress
  --dry-run              list how many case groups would be sent, send nothing
  --json                 print the summary as JSON
  (case groups are selected from cms.placements.v1; ROUTER_GROUP_ID names the router's groups for --wait)

exit codes:
  0  sent (and, with --wait, applied)
  1  failed: Kafka unreachable, or --wait timed out (the router not running)
  2  usage error`;

const REPLAY_HELP = `usage: npm run cli -- replay --from <topic> [range] [filters] [target] [--dry-run] [--json]

Republishes a range of a topic, each record with its original key, bytes, headers and event id, and a
cms-replayed-from header saying where it was read:
  --from cms.dead-letter.v1   each dead letter's original record, back to the topic its headers name
                              (a reference to a record too large to carry is listed, not replayed)
  --from cms.rejections.v1    the original record each rejection names, read again from its source
                              topic and published there (listed, not replayed, if retention removed it)
  --from <any other topic>    the records themselves, to the same topic (or --to)
A record several services dead-lettered or rejected is replayed once. The same range gives the same
records, and services recognise an event they already applied (docs/operations.md says how far back),
so running a replay twice is safe.

range (default: the whole topic):
  --partition <N[,N...]>     only these partitions
  --offset <A> | <A-B>       offsets A to B inclusive (needs --partition)
  --since <ISO time>         records written at or after this time
  --until <ISO time>         records written before this time
filters:
  --code <CMS_...>           only dead letters or rejections with this error code
target (default: where each record came from):
  --to <topic>               another topic, by its contract name
  --to-file <file>           JSON lines in the contract's JSON form (a scenario: npm run cli -- simulate)

exit codes:
  0  every record of the range was replayed (or listed, with --dry-run)
  1  failed: Kafka unreachable, or a bad option
  2  usage error
  3  some records could not be replayed (each is listed, with why)`;

const REBUILD_HELP = `usage: npm run cli -- rebuild <router|sr-events> --yes [--since <ISO time> | --ingest-since <ISO time>] [--json]

Rewinds a stopped service so that its state agrees with where it will read from. Stop every instance
first; the command refuses while any of the service's consumer groups has members.
  (default)        every stateful stage back to the beginning of its kept inbox, its state emptied first
                   (a tombstone for every key of its changelog, applied to Redis by the restore the stage
                   runs when it starts). Started again, the service replays its inbox from an empty state
                   and publishes its outputs again with the same ids (consumers that key by id see each
                   once). Rewinding a group by hand instead would leave Redis ahead of the replay.
  --since <T>      every stateful stage to its state at that time. Each keeps only its latest state, so
                   its state as of T is made again: emptied, replayed from the beginning of its kept inbox
                   without publishing up to the inbox offset of T (a boundary kept in its state, so a
                   crash mid-replay keeps it), then publishing again, with the same ids, only what its
                   inputs since T caused. The ingest stage stays where it is (the inboxes hold its work).
  --ingest-since <T>
                   only the stateless ingest stage, to that time: it re-reads upstream facts written since
                   then (if the topics still hold them) into the inboxes again, where the stages after it
                   recognise what they already applied.
The notifier is not offered: its inputs are not all kept, and its state is its send-once ledger, which
restores itself from its changelog and cms.notifications.v1.

ROUTER_GROUP_ID / SR_EVENTS_GROUP_ID name the groups (default cms-router, cms-sr-events).

exit codes:
  0  rewound (start the service)
  1  failed: the service is running, or Kafka unreachable
  2  usage error (an unknown service, or --yes missing)`;

/** A command's help: on stdout with exit 0 when asked for, on stderr with exit 2 (usage error) otherwise. */
function usage(asked: boolean | undefined, text: string): number {
  (asked ? console.log : console.error)(text);
  return asked ? 0 : 2;
}

/** A contract topic name given on the command line. */
function topicArg(name: string, flag: string): TopicName {
  if (!(Object.values(TOPICS) as string[]).includes(name)) throw new CmsError('CMS_CONFIG_INVALID', `${flag} ${name} is not a topic of the contract (${Object.values(TOPICS).join(', ')})`);
  return name as TopicName;
}

/** A rules file, validated with every problem listed (CMS_RULES_INVALID). */
function rulesFile(path: string): Rules {
  return loadRules(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** Kafka and the registry from the services' own environment variables, defaulting to the local stack. */
function platformFromEnv() {
  const platform = toPlatformConfig(parseEnv(commonEnvSchema, { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7', REDIS_URL: 'redis://127.0.0.1:16379', ...process.env }), 'cli');
  const kafka = createKafka(platform.kafka, createLogger({ service: 'cli', level: 'error' }));
  return { kafka, namespace: platform.kafka.topicNamespace, serde: () => createSerde(createSchemaRegistry(platform.registry), platform.kafka.topicNamespace) };
}

/** Every assignment of a case group, oldest first, from cms.assignments.v1 (its key's partition only). */
async function assignmentsOf(caseGroupId: string): Promise<Assignment[]> {
  const { kafka, namespace, serde: makeSerde } = platformFromEnv();
  const serde = makeSerde();
  const topic = qualify(TOPICS.assignments, namespace);
  const records = await readKeyHistory(kafka, topic, caseGroupId);
  return Promise.all(records.map(async (m) => (await serde.decode(topic, m.value)).value as Assignment));
}

/** The rules the router runs when no version is released: ROUTER_RULES_FILE, else the shipped file. */
function baseRules(): Rules {
  const file = process.env['ROUTER_RULES_FILE'] || undefined;
  return file ? rulesFile(file) : defaultRules();
}

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} is not set (see npm run stack -- up for local values)`);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'simulate': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { pretty: { type: 'boolean' }, rules: { type: 'string' }, 'heap-growth': { type: 'string' } } });
      const file = positionals[0];
      if (!file) throw new Error('simulate needs a scenario file');
      limitHeapGrowth(values['heap-growth']);
      const rules = values.rules ? rulesFile(values.rules) : defaultRules();
      if (isYamlScenario(file)) {
        const result = simulate(readFileSync(file, 'utf8'), rules, file);
        console.log(values.pretty ? toTable(result) : toJsonLines(result));
        return 0;
      }
      // JSON lines stream: outputs are written as each event is run, so memory is the cores' state only.
      const rowsOf = values.pretty ? tableRows() : jsonLinesOf;
      if (values.pretty) console.log(TABLE_HEADER);
      let buffered: string[] = [];
      const flush = (): void => {
        if (buffered.length > 0) process.stdout.write(`${buffered.join('\n')}\n`);
        buffered = [];
      };
      await simulateJsonLinesFile(file, rules, (r) => {
        buffered.push(...rowsOf(r));
        if (buffered.length >= 1_000) flush();
      });
      flush();
      return 0;
    }
    case 'what-if': {
      const { values } = parseArgs({
        args: rest,
        options: { rules: { type: 'string' }, active: { type: 'string' }, scenario: { type: 'string' }, csv: { type: 'string' }, html: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string', default: '50' }, 'exit-code': { type: 'boolean' }, help: { type: 'boolean' }, 'heap-growth': { type: 'string' } },
      });
      if (values.help) {
        console.log(WHAT_IF_HELP);
        return 0;
      }
      if (!values.rules) {
        console.error(`what-if needs --rules <candidate.json>\n\n${WHAT_IF_HELP}`);
        return 2;
      }
      limitHeapGrowth(values['heap-growth']);
      const candidate = rulesFile(values.rules);
      const active = values.active ? rulesFile(values.active) : baseRules();
      const started = performance.now();
      let whatIf;
      if (values.scenario) {
        whatIf = createWhatIf(active, candidate);
        await whatIfFromScenario(values.scenario, whatIf, progressBar('what-if'));
      } else {
        const { kafka, namespace, serde } = platformFromEnv();
        // Over the kept inbox, the active side is what the router ran: its rules book (the file and the released versions), unless --active names one file.
        const released = values.active ? new Map<string, Rules>() : await releasedVersions(kafka, namespace);
        const book = createRulesBook([active, ...released.values()]);
        whatIf = createWhatIf(active, candidate, released.size > 0 ? { activeAt: (at) => book.at(at), activeLabel: book.versions.map((r) => r.version).join(' + ') } : {});
        await whatIfFromInbox({ kafka, serde: serde(), namespace }, whatIf, progressBar('what-if'));
      }
      const report = whatIf.report();
      const seconds = (performance.now() - started) / 1_000;
      if (values.csv) writeFileSync(values.csv, whatIfCsv(report));
      if (values.html) writeFileSync(values.html, whatIfHtml(report));
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(whatIfText(report, Number(values.limit)));
        console.error(`[what-if] ${report.events} records in ${seconds.toFixed(1)} s (${Math.round(report.events / Math.max(seconds, 1e-3))}/s)${values.csv ? `; CSV: ${values.csv}` : ''}${values.html ? `; HTML: ${values.html}` : ''}`);
      }
      return values['exit-code'] && report.moves.length > 0 ? 4 : 0;
    }
    case 'rules': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, 'exit-code': { type: 'boolean' }, help: { type: 'boolean' } } });
      const [action, ...files] = positionals;
      const arity: Record<string, (n: number) => boolean> = { validate: (n) => n > 0, diff: (n) => n === 2, release: (n) => n === 1, withdraw: (n) => n === 1, list: (n) => n === 0 };
      if (values.help || !action || !arity[action]?.(files.length)) {
        return usage(values.help, RULES_HELP);
      }
      if (action === 'release') {
        const rules = rulesFile(files[0] ?? '');
        const { kafka, namespace } = platformFromEnv();
        const outcome = await releaseRules(kafka, namespace, rules);
        console.log(outcome === 'released' ? `released rules ${rules.version}: it decides facts dated from ${rules.effectiveFrom}${rules.effectiveTo ? ` to ${rules.effectiveTo}` : ''}; routers take it up without a restart` : `rules ${rules.version} is already released with this content; nothing to do`);
        return 0;
      }
      if (action === 'withdraw') {
        const { kafka, namespace } = platformFromEnv();
        await withdrawRules(kafka, namespace, files[0] ?? '');
        console.log(`withdrew rules ${files[0] ?? ''}: routers stop using it for the facts they read next`);
        return 0;
      }
      if (action === 'list') {
        const { kafka, namespace } = platformFromEnv();
        const rows = rulesListing(baseRules(), await releasedVersions(kafka, namespace), new Date().toISOString());
        if (values.json) console.log(JSON.stringify(rows, null, 2));
        else for (const r of rows) console.log(`${r.inEffectToday ? '*' : ' '} ${r.version.padEnd(20)} from ${r.effectiveFrom}${r.effectiveTo ? ` to ${r.effectiveTo}` : ''.padEnd(14)}  ${r.source}`);
        return 0;
      }
      if (action === 'validate') {
        const results = files.map((file) => {
          let data: unknown;
          try {
            data = JSON.parse(readFileSync(file, 'utf8'));
          } catch (err) {
            return { file, ok: false, problems: [`(file): ${messageOf(err)}`] };
          }
          const r = validateRules(data);
          return r.ok ? { file, ok: true, version: r.rules.version, effectiveFrom: r.rules.effectiveFrom, problems: [] as string[] } : { file, ok: false, problems: [...r.problems] };
        });
        if (values.json) console.log(JSON.stringify(results, null, 2));
        else for (const r of results) console.log(r.ok ? `${r.file}: valid (version ${'version' in r ? r.version : ''}, effective from ${'effectiveFrom' in r ? r.effectiveFrom : ''})` : `${r.file}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n${r.problems.map((x) => `  ${x}`).join('\n')}`);
        return results.every((r) => r.ok) ? 0 : 1;
      }
      const [a, b] = files.map(rulesFile) as [Rules, Rules];
      const changes = diffRules(a, b);
      if (values.json) console.log(JSON.stringify(changes, null, 2));
      else if (changes.length === 0) console.log(`no difference in what routing reads between ${files[0] ?? ''} and ${files[1] ?? ''}`);
      else {
        let section = '';
        for (const c of changes) {
          if (c.section !== section) console.log(`${(section = c.section)}:`);
          console.log(`  ${c.text}`);
        }
      }
      return values['exit-code'] && changes.length > 0 ? 4 : 0;
    }
    case 'replay': {
      const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, partition: { type: 'string' }, offset: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, code: { type: 'string' }, to: { type: 'string' }, 'to-file': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
      if (values.help || !values.from || (values.to && values['to-file'])) {
        return usage(values.help, REPLAY_HELP);
      }
      const offsets = values.offset ? /^(\d+)(?:-(\d+))?$/.exec(values.offset) : undefined;
      if (values.offset && !offsets) throw new CmsError('CMS_CONFIG_INVALID', `--offset ${values.offset} is not A or A-B`);
      const { kafka, namespace, serde } = platformFromEnv();
      const result = await replay(kafka, serde(), namespace, {
        from: topicArg(values.from, '--from'),
        ...(values.partition ? { partitions: values.partition.split(',').map(Number) } : {}),
        ...(offsets ? { fromOffset: BigInt(offsets[1] ?? '0'), ...(offsets[2] ? { toOffset: BigInt(offsets[2]) } : { toOffset: BigInt(offsets[1] ?? '0') }) } : {}),
        ...(values.since ? { since: values.since } : {}),
        ...(values.until ? { until: values.until } : {}),
        ...(values.code ? { code: values.code } : {}),
        ...(values.to ? { to: topicArg(values.to, '--to') } : {}),
        ...(values['to-file'] ? { toFile: values['to-file'] } : {}),
        dryRun: values['dry-run'] === true,
      }, progressBar('replay'));
      if (values.json) console.log(JSON.stringify(result, null, 2));
      else {
        const total = Object.values(result.replayed).reduce((a, b) => a + b, 0);
        console.log(`${values['dry-run'] ? 'would replay' : 'replayed'} ${total} of ${result.read} records${total > 0 ? `: ${Object.entries(result.replayed).map(([t, n]) => `${n} to ${t}`).join(', ')}` : ''}`);
        for (const x of result.skipped) console.log(`  not replayed ${x.where}: ${x.why}`);
      }
      return result.skipped.length > 0 ? 3 : 0;
    }
    case 'rebuild': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { yes: { type: 'boolean' }, since: { type: 'string' }, 'ingest-since': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
      const service = positionals[0];
      if (values.help || (service !== 'router' && service !== 'sr-events') || !values.yes) {
        return usage(values.help, service === 'notifier' ? `the notifier is not rebuilt this way (see below)\n\n${REBUILD_HELP}` : REBUILD_HELP);
      }
      if (values.since !== undefined && values['ingest-since'] !== undefined) return usage(false, `--since and --ingest-since are different rebuilds: choose one\n\n${REBUILD_HELP}`);
      for (const [flag, v] of [['--since', values.since], ['--ingest-since', values['ingest-since']]] as const) {
        if (v !== undefined && Number.isNaN(Date.parse(v))) throw new CmsError('CMS_CONFIG_INVALID', `${flag} ${v} is not an ISO-8601 time`);
      }
      const { kafka, namespace } = platformFromEnv();
      const spec = REBUILDABLE[service];
      const result = await rebuild(kafka, namespace, { service, groupBase: process.env[spec.groupEnv] || spec.defaultGroup, ...(values.since ? { since: values.since } : {}), ...(values['ingest-since'] ? { ingestSince: values['ingest-since'] } : {}) }, progressBar('state cleared'));
      if (values.json) console.log(JSON.stringify(result, null, 2));
      else for (const st of result.stages) console.log(`${service} ${st.stage}: group ${st.group} rewound to ${st.rewound}${st.stateKeysCleared > 0 ? `, ${st.stateKeysCleared} state keys cleared` : ''}${st.quietUntil ? `; replays without publishing below inbox offsets ${Object.entries(st.quietUntil).map(([p, o]) => `${p}:${o}`).join(', ')}` : ''}`);
      console.error(`[rebuild] start ${service} again: it restores the cleared state and replays from where it was rewound`);
      return 0;
    }
    case 'reroute': {
      const { values } = parseArgs({ args: rest, options: { run: { type: 'string' }, segment: { type: 'string' }, region: { type: 'string' }, team: { type: 'string' }, 'postcode-area': { type: 'string' }, wait: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
      if (values.help || !values.run) {
        return usage(values.help, REROUTE_HELP);
      }
      const { kafka, namespace, serde: makeSerde } = platformFromEnv();
      const serde = makeSerde();
      const placements = await currentPlacements(kafka, serde, namespace, progressBar('placements'));
      const filter = { segment: values.segment, region: values.region, team: values.team, postcodeArea: values['postcode-area'] };
      const chosen = selectCaseGroups(placements, filter);
      const at = new Date().toISOString();
      const summary = { run: values.run, at, caseGroups: chosen.length, filter, sent: false, applied: false };
      if (!values['dry-run']) {
        const targets = await sendReroute(kafka, serde, namespace, values.run, chosen, at, filter.postcodeArea?.toUpperCase() ?? null, progressBar('reroute sent'));
        summary.sent = true;
        if (values.wait) {
          await untilApplied(kafka, `${process.env['ROUTER_GROUP_ID'] || 'cms-router'}.route`, namespace, targets, progressBar('reroute applied'));
          summary.applied = true;
        }
      }
      if (values.json) console.log(JSON.stringify(summary, null, 2));
      else console.log(`${values['dry-run'] ? 'would send' : 'sent'} re-route run ${values.run} to ${chosen.length} case group${chosen.length === 1 ? '' : 's'}${summary.applied ? '; the route stage has applied it' : values['dry-run'] ? '' : '; the route stage applies it in order (--wait to wait for it)'}`);
      return 0;
    }
    case 'explain': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, history: { type: 'string' } } });
      const id = positionals[0];
      if (!id) throw new Error('explain needs a case group id');
      if (values.history !== undefined && values.history !== 'all') throw new CmsError('CMS_CONFIG_INVALID', '--history takes one value: all');
      // The whole history, however old, from the assignments topic (kept forever): the state keeps the last 100 entries.
      const everything = values.history === 'all' ? await assignmentsOf(id) : undefined;
      const redis = createRedis(env('REDIS_URL', 'redis://127.0.0.1:16379'), { connectionName: 'cms-cli' });
      try {
        const state = await readCaseGroup(redis, env('REDIS_KEY_PREFIX', 'cms'), id);
        if (state === null) {
          console.error(`case group ${id} is not known to the router (no application routed yet, or another REDIS_KEY_PREFIX)`);
          return 3;
        }
        console.log(values.json ? JSON.stringify({ placement: state.placement, pendingMove: state.pendingMove, srPlacements: state.srPlacements, allocation: state.allocation, recoveredFrom: state.recoveredFrom, waiting: state.waiting.map((w) => ({ eventId: w.eventId, arrivedAt: w.arrivedAt, waitsFor: w.waitsFor })), history: state.history, ...(everything ? { assignments: everything } : {}) }, null, 2) : `${explainText(state)}${everything ? `\n${assignmentHistoryText(everything)}` : ''}`);
        return 0;
      } finally {
        await redis.quit();
      }
    }
    case 'traffic': {
      const { values } = parseArgs({ args: rest, options: { 'case-groups': { type: 'string', default: '500' }, changes: { type: 'string', default: '8' }, rate: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } } });
      const controller = new AbortController();
      process.once('SIGINT', () => {
        controller.abort();
      });
      const result = await playTraffic({
        brokers: env('KAFKA_BROKERS', '127.0.0.1:19092'),
        registryUrl: env('SCHEMA_REGISTRY_URL', 'http://127.0.0.1:18081/apis/ccompat/v7'),
        namespace: process.env['KAFKA_TOPIC_NAMESPACE'] || undefined,
        seed: Number(values.seed),
        caseGroups: Number(values['case-groups']),
        changesPerCaseGroup: Number(values.changes),
        rate: Number(values.rate),
        summaryEveryMs: 2_000,
        settleMs: 3_000,
        out: (line) => {
          console.log(line);
        },
        signal: controller.signal,
      });
      console.log(`[traffic] done: ${result.produced} events in ${result.seconds.toFixed(1)} s`);
      return 0;
    }
    default:
      console.error(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A client library can keep a socket open after its work is done (a slow broker): the command is
    // over, so the process ends rather than hang after its last line.
    setTimeout(() => process.exit(), 500).unref();
  },
  (err: unknown) => {
    console.error(`cms-router: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exitCode = 1;
    setTimeout(() => process.exit(), 500).unref();
  },
);
